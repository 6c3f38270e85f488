"""Touches, tasks and their reminders, stale deals and the rep's Today page."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoff.models import Handoff, SlaDeadline
from leadflow.errors import ApplicationError
from leadflow.models import Notification
from sales import selectors, services
from sales.models import Deal, Task, Touch
from tests.conftest import login
from tests.sales.conftest import accepted_handoff, stage

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def test_the_first_touch_on_a_handoff_stops_the_first_touch_clock(cast):
    handoff = accepted_handoff(cast.rep)
    clock = SlaDeadline.objects.get(handoff=handoff, kind="touch")
    assert clock.state == "open"
    response = login(cast.rep).post(
        reverse("handoff:touch", args=[handoff.pk]), {"kind": "call", "outcome": "Reached her"}
    )
    assert response.status_code == 302
    handoff.refresh_from_db()
    clock.refresh_from_db()
    first = handoff.first_touch_at
    assert first is not None
    assert clock.state == "met"
    touch = Touch.objects.get(lead_id=handoff.lead_id)
    assert (touch.kind, touch.outcome, touch.actor) == ("call", "Reached her", cast.rep)
    # A second touch does not move the clock.
    login(cast.rep).post(reverse("handoff:touch", args=[handoff.pk]), {"kind": "email"})
    handoff.refresh_from_db()
    assert handoff.first_touch_at == first


def test_a_touch_logged_by_sales_on_the_person_stops_a_running_clock(cast, deal):
    # The converted person qualifies again later: a new handoff, a new clock.
    new = Handoff.objects.create(
        lead_id=deal.lead_id, team=cast.team, assigned_to=cast.rep, sla_tier="standard"
    )
    services.touch_log(actor=cast.rep, kind="meeting", contact_id=deal.contact_id)
    new.refresh_from_db()
    assert new.first_touch_at is not None


def test_a_touch_on_a_deal_is_activity_and_part_of_its_story(cast, deal):
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - 30 * 24 * HOUR)
    response = login(cast.rep).post(
        reverse("sales:deal_touch", args=[deal.pk]),
        {"kind": "meeting", "outcome": "Demo held", "body": "Team of 12"},
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert timezone.now() - deal.last_activity_at < HOUR
    touch = Touch.objects.get(deal=deal)
    assert touch.contact_id == deal.contact_id
    page = login(cast.rep).get(reverse("sales:deal", args=[deal.pk]))
    assert "Demo held" in page.content.decode()


def test_a_touch_needs_a_known_kind(cast, deal):
    response = login(cast.rep).post(reverse("sales:deal_touch", args=[deal.pk]), {"kind": "fax"})
    assert response.status_code == 400
    with pytest.raises(ApplicationError):
        services.touch_log(actor=cast.rep, kind="fax", deal_id=deal.pk)
    assert not Touch.objects.exists()


def test_the_deal_page_tells_the_story_back_to_the_first_marketing_touch(cast, deal):
    from marketing.models import Touchpoint

    point = Touchpoint.objects.create(
        lead_id=deal.lead_id, kind="form_submit", utm_source="linkedin"
    )
    # It happened before the lead was handed to sales.
    Touchpoint.objects.filter(pk=point.pk).update(created_at=timezone.now() - 48 * HOUR)
    story = selectors.deal_story(deal=Deal.objects.select_related("lead").get(pk=deal.pk))
    sources = [entry.source for entry in story]
    assert sources[0] == "marketing"
    assert {"marketing", "lead", "handoff", "deal"} <= set(sources)
    assert [entry.at for entry in story] == sorted(entry.at for entry in story)
    page = login(cast.rep).get(reverse("sales:deal", args=[deal.pk]))
    assert "linkedin" in page.content.decode()


def test_a_task_from_the_deal_page_and_its_bad_input(cast, deal):
    client = login(cast.rep)
    due = (timezone.localtime() + 2 * HOUR).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("sales:deal_task", args=[deal.pk]), {"title": "", "due_at": due})
    assert response.status_code == 400
    late = (timezone.localtime() + 3 * HOUR).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("sales:deal_task", args=[deal.pk]),
        {"title": "Send contract", "due_at": due, "remind_at": late},
    )
    assert response.status_code == 400
    assert "must not come after" in response.content.decode()
    response = client.post(
        reverse("sales:deal_task", args=[deal.pk]), {"title": "Send contract", "due_at": due}
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.owner, task.deal, task.remind_at) == (cast.rep, deal, task.due_at)


def test_a_due_reminder_notifies_the_owner_once(cast, deal):
    now = timezone.now()
    due = services.task_create(
        actor=cast.rep, owner=cast.rep, title="Call back", due_at=now - HOUR, deal_id=deal.pk
    )
    services.task_create(actor=cast.rep, owner=cast.rep, title="Later", due_at=now + HOUR)
    done = services.task_create(actor=cast.rep, owner=cast.rep, title="Done", due_at=now - HOUR)
    services.task_complete(task_id=done.pk, actor=cast.rep)

    assert services.task_reminders_send(now=now) == 1
    assert services.task_reminders_send(now=now) == 0
    note = Notification.objects.get(user=cast.rep, kind="task.reminder")
    assert "Call back" in note.subject
    assert note.url == reverse("sales:deal", args=[deal.pk])
    assert Task.objects.get(pk=due.pk).reminded_at is not None


def test_stale_deals_follow_each_stage_s_limit(cast, make_deal):
    fresh, stale = make_deal(cast.rep), make_deal(cast.rep)
    old = timezone.now() - datetime.timedelta(days=20)
    Deal.objects.filter(pk__in=[fresh.pk, stale.pk]).update(last_activity_at=old)
    Deal.objects.filter(pk=fresh.pk).update(stage=stage("Proposal"))
    stage_ = stage("Proposal")
    stage_.stale_after_days = 30
    stage_.save(update_fields=["stale_after_days"])

    found = selectors.stale_deals_for(user=cast.rep)

    assert [(s.deal.pk, s.idle_days) for s in found] == [(stale.pk, 20)]


def test_today_shows_tasks_due_sla_deadlines_stale_and_closed_deals(cast, make_deal):
    handoff = accepted_handoff(cast.rep, first_name="Vera", last_name="Petrova")
    stale, won = make_deal(cast.rep), make_deal(cast.rep)
    Deal.objects.filter(pk=stale.pk).update(
        name="Sleepy", last_activity_at=timezone.now() - datetime.timedelta(days=40)
    )
    services.deal_move(
        deal_id=won.pk, stage_id=stage("Won").pk, actor=cast.rep, reason="Price and terms"
    )
    services.task_create(
        actor=cast.rep, owner=cast.rep, title="Send the quote", due_at=timezone.now() - HOUR
    )
    services.task_create(
        actor=cast.rep2, owner=cast.rep2, title="Not mine", due_at=timezone.now() - HOUR
    )

    response = login(cast.rep).get(reverse("handoff:today"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Send the quote" in html
    assert "Not mine" not in html
    assert [d.handoff_id for d in response.context["deadlines"]] == [handoff.pk]
    assert "Vera Petrova" in html
    assert [s.deal.pk for s in response.context["stale"]] == [stale.pk]
    assert [d.pk for d in response.context["closed"]] == [won.pk]


def test_ticking_off_a_task_in_place(cast, deal):
    task = services.task_create(
        actor=cast.rep, owner=cast.rep, title="Call", due_at=timezone.now(), deal_id=deal.pk
    )
    response = login(cast.rep).post(
        reverse("sales:task_done", args=[task.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in response.content.decode()
    assert Task.objects.get(pk=task.pk).done_at is not None


def test_today_and_the_deal_page_use_a_fixed_number_of_queries(cast, make_deal):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_work() -> Deal:
        deal = make_deal(cast.rep)
        Deal.objects.filter(pk=deal.pk).update(
            last_activity_at=timezone.now() - datetime.timedelta(days=60)
        )
        services.task_create(
            actor=cast.rep, owner=cast.rep, title="t", due_at=timezone.now(), deal_id=deal.pk
        )
        services.touch_log(actor=cast.rep, kind="call", deal_id=deal.pk)
        return deal

    first = add_work()
    client = login(cast.rep)
    client.get(reverse("handoff:today"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("handoff:today"))
    with CaptureQueriesContext(connection) as deal_few:
        client.get(reverse("sales:deal", args=[first.pk]))
    for _ in range(4):
        add_work()
    for _ in range(3):
        services.touch_log(actor=cast.rep, kind="note", deal_id=first.pk)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("handoff:today"))
    with CaptureQueriesContext(connection) as deal_many:
        client.get(reverse("sales:deal", args=[first.pk]))
    assert len(many) == len(few)
    assert len(deal_many) == len(deal_few)


def test_account_and_contact_pages_show_everything_related(cast, deal):
    services.touch_log(actor=cast.rep, kind="email", outcome="Sent the quote", deal_id=deal.pk)
    services.task_create(
        actor=cast.rep,
        owner=cast.rep,
        title="Chase legal",
        due_at=timezone.now() + HOUR,
        contact_id=deal.contact_id,
    )
    client = login(cast.rep)
    account = client.get(reverse("sales:account", args=[deal.account_id])).content.decode()
    for text in ("Big deal", "Sent the quote", "Chase legal", deal.contact.email):
        assert text in account, text
    contact = client.get(reverse("sales:contact", args=[deal.contact_id])).content.decode()
    for text in ("Big deal", "Sent the quote", "Chase legal"):
        assert text in contact, text
    found = client.get(reverse("sales:accounts"), {"q": deal.account.name[:4]})
    assert deal.account in found.context["page"].object_list
    assert (
        not client.get(reverse("sales:accounts"), {"q": "zzz-nothing"}).context["page"].object_list
    )


def test_finishing_a_task_on_a_deal_is_activity(cast, deal):
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - 30 * 24 * HOUR)
    task = services.task_create(
        actor=cast.rep, owner=cast.rep, title="Call", due_at=timezone.now(), deal_id=deal.pk
    )
    services.task_complete(task_id=task.pk, actor=cast.rep)
    deal.refresh_from_db()
    assert timezone.now() - deal.last_activity_at < HOUR
    assert selectors.stale_deals_for(user=cast.rep) == []
