"""The report's SVG charts: axes on round numbers, bars to scale, escaped text."""

from apps.governance import charts


def test_the_axis_tops_at_a_round_number_with_whole_ticks():
    assert charts.nice_ceiling(0) == 1
    assert charts.nice_ceiling(0.25) == 1
    assert charts.nice_ceiling(1.25) == 2
    assert charts.nice_ceiling(3) == 5
    assert charts.nice_ceiling(1100) == 2000
    svg = charts.bar_chart(
        chart_id="c",
        title="Acties <per> maand",
        desc="Staafdiagram",
        categories=["januari", "februari"],
        short=["jan", "feb"],
        series=[("2023", [5, 0]), ("2022", [4, 1])],
    )
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert "Acties &lt;per&gt; maand" in svg
    # 5 on an axis of 0..8 (steps of 2): ticks 0, 2, 4, 6, 8, no fractions or percentages
    assert [f">{n}</text>" in svg for n in (0, 2, 4, 6, 8)] == [True] * 5
    assert "%" not in svg
    assert "<title>januari, 2023: 5</title>" in svg
    assert svg.count('class="bar series-1"') == 3  # two bars and the legend's swatch


def test_a_chart_of_nothing_still_draws_an_axis():
    svg = charts.bar_chart(
        chart_id="c", title="t", desc="d", categories=["a"], series=[("2023", [0])]
    )
    assert 'height="0.0"' in svg
