"""`manage.py bench_publish`: makes its actions, times the feeds and a display through the
real views, reports against the goal, and removes exactly what it made."""

import io

import pytest
from django.core.management import CommandError, call_command

from apps.actions import services
from apps.actions.models import Action
from apps.bench import publish
from apps.channels.models import OutgoingMessage
from apps.governance.models import Organisation
from tests.actions.conftest import action_fields, release


@pytest.mark.django_db
def test_it_measures_every_view_and_cleans_up(operator_mn):
    real = release(services.action_create(by=operator_mn, **action_fields()), operator_mn)
    before = (Action.objects.count(), OutgoingMessage.objects.count(), Organisation.objects.count())
    out = io.StringIO()

    call_command("bench_publish", actions=60, running=12, repeat=2, stdout=out)

    report = out.getvalue()
    assert "Actions made: 60 (12 running)" in report
    for name in ("national feed", "unit feed", "province feed", "display JSON", "display CAP feed"):
        assert name in report
    assert report.count(" ms, max ") == 5
    assert "Cleaned up" in report
    after = (Action.objects.count(), OutgoingMessage.objects.count(), Organisation.objects.count())
    assert after == before
    assert Action.objects.filter(pk=real.pk, state=Action.State.RELEASED).exists()


@pytest.mark.django_db
def test_it_makes_what_the_views_show(geography):
    publish.make_actions(publish.Options(actions=30, running=12))
    try:
        mine = publish.bench_actions()
        assert mine.count() == 30
        assert mine.filter(state=Action.State.RELEASED).count() == 12
        assert mine.filter(state=Action.State.RELEASED, release_message=None).count() == 0
        assert mine.exclude(reaches_units=None).exists()
    finally:
        publish.purge()
    assert not publish.bench_actions().exists()
    assert not Organisation.objects.filter(name=publish.BENCH_ORGANISATION).exists()


def test_it_refuses_nonsense_sizes():
    with pytest.raises(CommandError):
        call_command("bench_publish", actions=0, stdout=io.StringIO())
