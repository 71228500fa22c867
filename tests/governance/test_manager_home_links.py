"""The staff home links a manager to the managers' pages, and no one else."""

from django.urls import reverse

LINKS = ["link-audit", "link-organisations", "link-contributions", "link-retention"]


def test_it_links_a_manager_to_the_managers_pages(staff_client, manager):
    response = staff_client(manager).get(reverse("governance:home"))

    for link in LINKS:
        assert f'id="{link}"' in response.text


def test_it_offers_the_managers_pages_to_no_operator_or_mail_author(
    staff_client, operator_mn, woerden_author
):
    for user in (operator_mn, woerden_author):
        response = staff_client(user).get(reverse("governance:home"))
        assert 'id="oversight"' not in response.text
