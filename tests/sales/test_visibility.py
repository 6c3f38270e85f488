"""Who sees and changes what: every sales page and action, for each of the cast.

Reps see their own deals (the team's when the team shares); managers see their team's;
marketers see nothing of sales; anyone else gets a 404, never a hint that it exists.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sales import services
from sales.models import Deal, Task, Touch
from tests.conftest import login
from tests.sales.conftest import stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(cast, deal) -> Task:
    return services.task_create(
        actor=cast.rep,
        owner=cast.rep,
        title="Call back",
        due_at=timezone.now() + datetime.timedelta(hours=1),
        deal_id=deal.pk,
    )


def pages(deal: Deal) -> list[str]:
    return [
        reverse("sales:deal", args=[deal.pk]),
        reverse("sales:account", args=[deal.account_id]),
        reverse("sales:contact", args=[deal.contact_id]),
    ]


def actions(deal: Deal, task: Task) -> list[tuple[str, dict[str, object]]]:
    later = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return [
        (reverse("sales:deal_move", args=[deal.pk]), {"stage": stage("Proposal").pk}),
        (
            reverse("sales:deal_edit", args=[deal.pk]),
            {"name": "Renamed", "amount": "1", "currency": "USD"},
        ),
        (reverse("sales:deal_touch", args=[deal.pk]), {"kind": "call", "outcome": "x"}),
        (reverse("sales:deal_task", args=[deal.pk]), {"title": "t", "due_at": later}),
        (reverse("sales:contact_touch", args=[deal.contact_id]), {"kind": "note"}),
        (reverse("sales:contact_task", args=[deal.contact_id]), {"title": "t", "due_at": later}),
        (reverse("sales:task_done", args=[task.pk]), {}),
    ]


def assert_untouched(deal: Deal, task: Task) -> None:
    assert deal.contact_id is not None
    deal.refresh_from_db()
    assert (deal.name, deal.stage.name) == ("Big deal", "Discovery")
    assert not Touch.objects.filter(deal=deal).exists()
    assert not Touch.objects.filter(contact_id=deal.contact_id).exists()
    assert Task.objects.count() == 1
    assert Task.objects.get(pk=task.pk).done_at is None


@pytest.mark.parametrize("who", ["rep2", "other_rep"])
def test_another_rep_neither_sees_nor_changes_a_private_deal(cast, deal, task, who):
    client = login(getattr(cast, who))
    for url in pages(deal):
        assert client.get(url).status_code == 404, url
    for url, data in actions(deal, task):
        assert client.post(url, data).status_code == 404, url
    assert_untouched(deal, task)
    board = client.get(reverse("sales:board"))
    assert all(deal not in column.deals for column in board.context["columns"])
    assert deal not in login(getattr(cast, who)).get(reverse("sales:deals")).context["page"]
    accounts = client.get(reverse("sales:accounts")).context["page"].object_list
    assert deal.account not in accounts


def test_a_marketer_is_refused_every_sales_page_and_action(cast, deal, task):
    client = login(cast.marketer)
    for url in [
        *pages(deal),
        reverse("sales:board"),
        reverse("sales:deals"),
        reverse("sales:accounts"),
        reverse("sales:settings"),
        reverse("handoff:today"),
    ]:
        assert client.get(url).status_code == 403, url
    for url, data in actions(deal, task):
        assert client.post(url, data).status_code == 403, url
    assert_untouched(deal, task)


def test_a_manager_of_another_team_sees_nothing(cast, deal, task):
    from tests.factories import UserFactory

    west_manager = UserFactory.create(role="manager", team=cast.other_team)
    client = login(west_manager)
    for url in pages(deal):
        assert client.get(url).status_code == 404, url
    for url, data in actions(deal, task):
        assert client.post(url, data).status_code == 404, url
    assert_untouched(deal, task)


def test_the_owner_and_the_team_manager_see_and_act(cast, deal, task):
    for user in (cast.rep, cast.manager):
        client = login(user)
        for url in pages(deal):
            assert client.get(url).status_code == 200, (user, url)
    client = login(cast.manager)
    for url, data in actions(deal, task):
        assert client.post(url, data).status_code in (200, 302), url
    deal.refresh_from_db()
    assert (deal.name, deal.stage.name) == ("Renamed", "Proposal")


def test_a_shared_team_lets_teammates_see_and_work_the_deal(cast, deal, task):
    cast.team.visibility = "shared"
    cast.team.save(update_fields=["visibility"])
    client = login(cast.rep2)
    for url in pages(deal):
        assert client.get(url).status_code == 200, url
    assert client.post(*actions(deal, task)[0]).status_code == 302
    assert Deal.objects.get(pk=deal.pk).stage.name == "Proposal"
    # The other team still sees nothing.
    other = login(cast.other_rep)
    assert other.get(reverse("sales:deal", args=[deal.pk])).status_code == 404


def test_reps_cannot_edit_pipelines_or_reasons(cast):
    client = login(cast.rep)
    assert client.get(reverse("sales:settings")).status_code == 403
    assert client.post(reverse("sales:pipeline_create"), {"name": "Mine"}).status_code == 403
    assert (
        client.post(reverse("sales:reason_add"), {"kind": "won", "label": "x"}).status_code == 403
    )


def test_the_team_manager_switches_the_team_to_shared_deals(cast, deal):
    assert login(cast.rep2).get(reverse("sales:deal", args=[deal.pk])).status_code == 404
    assert (
        login(cast.rep).post(reverse("sales:team_visibility"), {"visibility": "shared"}).status_code
        == 403
    )
    response = login(cast.manager).post(reverse("sales:team_visibility"), {"visibility": "shared"})
    assert response.status_code == 302
    assert login(cast.rep2).get(reverse("sales:deal", args=[deal.pk])).status_code == 200
    login(cast.manager).post(reverse("sales:team_visibility"), {"visibility": "everyone"})
    cast.team.refresh_from_db()
    assert cast.team.visibility == "shared"
