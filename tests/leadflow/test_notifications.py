"""Notifications: idempotent sending, preferences, email exactly once, the bell and inbox."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from leadflow import notifications
from leadflow.models import Notification, NotificationPreference, Role
from leadflow.tasks import notification_email
from tests.conftest import login
from tests.factories import UserFactory


def send(user, key="k1", kind="sla.breach"):
    return notifications.notification_send(
        user=user, kind=kind, subject="Deadline missed", body="b", url="/queue/", dedupe_key=key
    )


@pytest.mark.django_db
def test_the_same_fact_sent_twice_is_one_notification(cast):
    assert send(cast.rep) is not None
    assert send(cast.rep) is None
    assert send(cast.manager) is not None  # one key may serve everyone told of a fact
    assert Notification.objects.filter(dedupe_key="k1").count() == 2


@pytest.mark.django_db
def test_the_email_task_run_twice_sends_one_email(cast):
    note = send(cast.rep)
    notification_email(note.pk)
    notification_email(note.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [cast.rep.email]
    assert mail.outbox[0].body.endswith("/queue/")
    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == ("sent", 1)


@pytest.mark.django_db
def test_preferences_turn_the_bell_or_the_email_off_per_kind(cast):
    NotificationPreference.objects.create(user=cast.rep, kind="sla.breach", in_app=False)
    NotificationPreference.objects.create(
        user=cast.rep, kind="sla.warning", in_app=False, email=False
    )
    note = send(cast.rep)
    assert (note.in_app, note.email_state) == (False, "pending")
    assert send(cast.rep, key="k2", kind="sla.warning") is None
    assert notifications.notification_unread_count(user=cast.rep) == 0


@pytest.mark.django_db
def test_a_user_without_an_address_gets_no_email(cast):
    quiet = UserFactory(role=Role.REP, team=cast.team, email="")
    assert send(quiet).email_state == "none"


@pytest.mark.django_db
def test_the_bell_counts_unread_and_opening_one_marks_it_read(cast):
    note = send(cast.rep)
    send(cast.rep, key="k2")
    send(cast.rep2, key="k3")
    client = login(cast.rep)
    bell = client.get(reverse("notification_bell"))
    assert 'class="bell-count">2<' in bell.content.decode()
    response = client.post(reverse("notification_open", args=[note.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/queue/"
    assert notifications.notification_unread_count(user=cast.rep) == 1
    # Someone else's notification is not found.
    other = Notification.objects.get(user=cast.rep2)
    assert client.post(reverse("notification_open", args=[other.pk])).status_code == 404
    client.post(reverse("notifications"))
    assert notifications.notification_unread_count(user=cast.rep) == 0


@pytest.mark.django_db
def test_a_link_elsewhere_is_never_followed(cast):
    note = notifications.notification_send(
        user=cast.rep, kind="x", subject="s", url="https://evil.example/", dedupe_key="evil"
    )
    response = login(cast.rep).post(reverse("notification_open", args=[note.pk]))
    assert response["Location"] == reverse("notifications")


@pytest.mark.django_db
def test_the_inbox_and_the_settings_page(cast):
    send(cast.rep)
    client = login(cast.rep)
    assert "Deadline missed" in client.get(reverse("notifications")).content.decode()
    response = client.post(
        reverse("notification_preferences"), {"sla.breach:app": "on", "deal.won:email": "on"}
    )
    assert response.status_code == 302
    prefs = {
        p.kind: (p.in_app, p.email) for p in NotificationPreference.objects.filter(user=cast.rep)
    }
    assert prefs["sla.breach"] == (True, False)
    assert prefs["deal.won"] == (False, True)
    assert client.get(reverse("notification_preferences")).status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_sends_once_when_the_task_is_delivered_twice(celery_worker):
    user = UserFactory(role=Role.REP)
    with transaction.atomic():
        note = send(user)
    # The on-commit enqueue sent one task; a redelivery sends the same id again.
    notification_email.delay(note.pk)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        note.refresh_from_db()
        if note.email_state == "sent":
            break
        time.sleep(0.2)
    time.sleep(1.5)  # let the second delivery run too
    note.refresh_from_db()
    assert (note.email_state, note.email_attempts) == ("sent", 1)
