"""A mailing's light formatting, rendered safely: nothing the author writes passes as HTML."""

from apps.mail.rendering import render_html, render_text


def test_it_makes_paragraphs_of_blank_line_separated_blocks():
    html = render_html("Eerste alinea\nnog steeds de eerste.\r\n\r\n\n\nTweede alinea.")
    assert html == "<p>Eerste alinea<br>\nnog steeds de eerste.</p>\n<p>Tweede alinea.</p>"


def test_it_makes_bold_of_words_between_asterisks_and_leaves_lone_asterisks():
    html = render_html("Let *goed* op, 3 * 4 = 12 en ** blijft.")
    assert "<strong>goed</strong>" in html
    assert "3 * 4 = 12 en ** blijft." in html


def test_it_makes_a_list_of_lines_starting_with_a_dash():
    html = render_html("Tips:\n- sluit *ramen*\n- doe de deur op slot\nEinde.")
    assert html == (
        "<p>Tips:</p>\n<ul>\n<li>sluit <strong>ramen</strong></li>\n"
        "<li>doe de deur op slot</li>\n</ul>\n<p>Einde.</p>"
    )


def test_it_links_bare_https_addresses_without_their_trailing_punctuation():
    html = render_html("Zie https://www.politie.nl/tips?a=1&b=2. Of (https://x.nl/a).")
    assert '<a href="https://www.politie.nl/tips?a=1&amp;b=2">' in html
    assert "</a>. Of (" in html
    assert '<a href="https://x.nl/a">https://x.nl/a</a>).' in html


def test_it_links_no_other_schemes():
    html = render_html("http://x.nl javascript:alert(1) data:text/html,hoi")
    assert "<a" not in html


def test_it_escapes_html_from_the_author():
    body = (
        '<script>alert("x")</script> <b onmouseover="x">vet</b> '
        '*<img src=x onerror=alert(1)>* https://x.nl/"><script>'
    )
    html = render_html(body)
    assert "<script" not in html
    assert "<img" not in html
    assert "<b " not in html
    assert "&lt;script&gt;" in html
    assert "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>" in html
    assert '<a href="https://x.nl/">' in html  # the link ends where the quote begins


def test_the_text_version_keeps_the_words_and_tidies_the_spacing():
    text = render_text("  Beste bewoner,  \r\n\r\n\r\n- *een*\n  - twee\n\nGroet <b>x</b>")
    assert text == "Beste bewoner,\n\n- *een*\n- twee\n\nGroet <b>x</b>\n"


def test_an_empty_body_renders_empty():
    assert render_html(" \n\n ") == ""
    assert render_text("") == ""
