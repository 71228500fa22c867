"""Every page names the site's icon (the public site, the staff pages, the admin and the
bare server-error page), and the icon files are there."""

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse

ICONS = ["icons/favicon.svg", "icons/favicon.ico"]


@pytest.mark.parametrize("path", ICONS)
def test_the_icon_files_are_static_files(path):
    assert finders.find(path), path


def _links_the_icon(html: str) -> bool:
    return all(f'rel="icon" href="/static/{icon}"' in html for icon in ICONS)


def test_every_kind_of_page_links_the_icon(client, staff_client, manager):
    for path in ["/", "/aanmelden/", reverse("governance:login"), "/bestaat-niet/"]:
        response = client.get(path)
        assert _links_the_icon(response.content.decode()), path
    staff = staff_client(manager)
    for path in [reverse("governance:home"), reverse("admin:index")]:
        response = staff.get(path)
        assert response.status_code == 200
        assert _links_the_icon(response.content.decode()), path
    assert _links_the_icon(render_to_string("500.html"))
