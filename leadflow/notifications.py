"""Notifications: tell a person about something, under the bell and by email.

Any app calls :func:`notification_send`; it is idempotent per (user, ``dedupe_key``), so a
caller that runs twice (a redelivered task, a retried request) tells the person once. The
email goes out from a Celery task after commit; a beat sweeper re-enqueues emails whose
task never ran.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from leadflow.models import Notification, NotificationKind, NotificationPreference, User
from leadflow.services import enqueue_on_commit

logger = logging.getLogger(__name__)

# After this many failed attempts an email is given up (the in-app notification stays).
MAX_EMAIL_ATTEMPTS = 5


def _preference(user: User, kind: str) -> tuple[bool, bool]:
    """(in_app, email) for this user and kind; both on unless the user said otherwise."""
    pref = NotificationPreference.objects.filter(user=user, kind=kind).first()
    if pref is None:
        return True, True
    return pref.in_app, pref.email


def notification_send(
    *,
    user: User,
    kind: str,
    subject: str,
    body: str = "",
    url: str = "",
    dedupe_key: str,
) -> Notification | None:
    """Notify ``user`` once per ``dedupe_key``; returns None when this was already sent
    (same user and key) or the user turned both the bell and email off for ``kind``.

    ``kind`` is one of :class:`NotificationKind` (others are accepted and always on).
    ``dedupe_key`` names the fact, e.g. ``"sla.breach:handoff:42:accept"``; it is unique per
    user, so one key may be used for everyone told about the same fact. Call it inside the
    transaction that records the fact: the notification commits (and its email is queued)
    with it, or not at all.
    """
    in_app, email = _preference(user, kind)
    email = email and bool(user.email) and user.is_active
    if not (in_app or email):
        return None
    email_state = Notification.EmailState.PENDING if email else Notification.EmailState.NONE
    # INSERT ... ON CONFLICT DO NOTHING RETURNING id: a repeated or concurrent send of the
    # same key inserts nothing, returns no id, and does not abort the caller's transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leadflow_notification
                (user_id, kind, subject, body, url, dedupe_key, in_app, email_state,
                 email_attempts, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s)
            ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
            RETURNING id
            """,
            [
                user.pk,
                kind[:40],
                subject[:200],
                body,
                url[:500],
                dedupe_key[:200],
                in_app,
                email_state,
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    if email:
        from leadflow.tasks import notification_email

        enqueue_on_commit(notification_email, row[0])
    return Notification.objects.get(pk=row[0])


@transaction.atomic
def notification_email_deliver(*, notification_id: int) -> bool:
    """Email one notification if it is still pending; True if this call sent it.

    The row lock makes a second run of the task (redelivery, the sweeper racing the first
    task) wait for the first and then find the row sent: one email. If sending raises,
    the state stays pending and the task retries.
    """
    notification = (
        Notification.objects.select_for_update()
        .select_related("user")
        .filter(pk=notification_id, email_state=Notification.EmailState.PENDING)
        .first()
    )
    if notification is None:
        return False
    user = notification.user
    try:
        send_mail(
            subject=notification.subject,
            message=_email_text(notification),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except Exception:
        attempts = notification.email_attempts + 1
        state = (
            Notification.EmailState.FAILED
            if attempts >= MAX_EMAIL_ATTEMPTS
            else Notification.EmailState.PENDING
        )
        Notification.objects.filter(pk=notification.pk).update(
            email_attempts=attempts, email_state=state
        )
        logger.warning("email for notification %s failed (attempt %s)", notification.pk, attempts)
        return False
    Notification.objects.filter(pk=notification.pk).update(
        email_state=Notification.EmailState.SENT,
        email_attempts=notification.email_attempts + 1,
        emailed_at=timezone.now(),
    )
    return True


def _email_text(notification: Notification) -> str:
    parts = [notification.body] if notification.body else []
    if notification.url:
        parts.append(settings.LEADFLOW_BASE_URL.rstrip("/") + notification.url)
    return "\n\n".join(parts) or notification.subject


def notifications_email_due(*, older_than: timedelta) -> list[int]:
    """Pending emails older than ``older_than``: their task was lost (for the sweeper)."""
    cutoff = timezone.now() - older_than
    return list(
        Notification.objects.filter(
            email_state=Notification.EmailState.PENDING, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )


# --- The bell and the inbox -----------------------------------------------------------


def notification_inbox(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, in_app=True)


def notification_unread_count(*, user: User) -> int:
    return notification_inbox(user=user).filter(read_at=None).count()


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read, or all of them; returns how many."""
    unread = notification_inbox(user=user).filter(read_at=None)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def notification_preferences_for(*, user: User) -> list[tuple[str, str, bool, bool]]:
    """(kind, label, in_app, email) for every kind, defaults filled in."""
    saved = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind, label in NotificationKind.choices:
        pref = saved.get(kind)
        rows.append((kind, str(label), pref.in_app if pref else True, pref.email if pref else True))
    return rows


@transaction.atomic
def notification_preferences_set(*, user: User, choices: dict[str, tuple[bool, bool]]) -> None:
    """Save (in_app, email) per kind; unknown kinds are ignored."""
    for kind, (in_app, email) in choices.items():
        if kind not in NotificationKind.values:
            continue
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"in_app": in_app, "email": email}
        )
