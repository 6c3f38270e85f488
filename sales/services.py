"""Sales writes: accounts, contacts, deals, stage moves and touches."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError, ConflictError
from leadflow.models import Event, NotificationKind, Team, User
from leadflow.notifications import notification_send
from leadflow.services import event_record
from sales import selectors
from sales.models import (
    Account,
    CloseReason,
    Contact,
    Deal,
    Pipeline,
    PipelineStage,
    Task,
    Touch,
)
from sales.selectors import AccountMatch

DEAL = "sales.deal"
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class PersonInput:
    """Who is being converted: the lead's fields, as sales needs them."""

    lead_id: int | None
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    job_title: str = ""
    company: str = ""


@dataclass(frozen=True)
class Attribution:
    """Where the person came from, copied from the lead so the deal tells its own story."""

    source: str = ""
    campaign_name: str = ""
    first_touch_id: int | None = None
    last_touch_id: int | None = None


@dataclass(frozen=True)
class DealInput:
    pipeline_id: int | None
    name: str
    amount: Decimal
    currency: str = DEFAULT_CURRENCY
    expected_close: datetime.date | None = None


@dataclass(frozen=True)
class Conversion:
    deal: Deal
    account: Account
    contact: Contact
    account_created: bool
    # "account.domain", "contact.phone", ...: the empty fields the person's data filled.
    filled: list[str]


def _fill_empty(row: Account | Contact, values: dict[str, object]) -> list[str]:
    """Set the fields of ``row`` that are empty to ``values``; never overwrite one."""
    filled = [name for name, value in values.items() if value and getattr(row, name) in ("", None)]
    for name in filled:
        setattr(row, name, values[name])
    if filled:
        row.save(update_fields=filled)
    label = row._meta.model_name
    return [f"{label}.{name}" for name in filled]


def _account_for(
    *, person: PersonInput, account_id: int | None, owner: User, team: Team | None
) -> tuple[Account, bool, list[str]]:
    """The chosen existing account (its empty fields filled), or a new one."""
    match = selectors.account_match(email=person.email, company=person.company)
    if account_id is not None:
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            raise ApplicationError(_("That account does not exist."), field="account")
        # A name match learns the company's domain, unless another account holds it.
        domain = "" if Account.objects.filter(domain=match.domain).exists() else match.domain
        filled = _fill_empty(account, {"domain": domain, "owner": owner, "team": team})
        return account, False, filled
    # A new account. If the rep declined a domain match, the domain stays with that account
    # (one account per domain) and the new one has none.
    domain = "" if match.by == AccountMatch.BY_DOMAIN else match.domain
    name = person.company.strip() or person.email
    try:
        # A savepoint: two conversions from one new domain at once must meet on one row.
        with transaction.atomic():
            account = Account.objects.create(name=name, domain=domain, owner=owner, team=team)
    except IntegrityError:
        raise ConflictError(
            _("An account with this domain was just created; review the conversion again.")
        ) from None
    return account, True, []


def _contact_for(*, account: Account, person: PersonInput) -> tuple[Contact, list[str]]:
    """The account's contact with this address, its empty fields filled; or a new one."""
    values: dict[str, object] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phone": person.phone,
        "job_title": person.job_title,
        "lead_id": person.lead_id,
    }
    contact = (
        Contact.objects.select_for_update()
        .filter(account=account, email__iexact=person.email)
        .exclude(email="")
        .first()
    )
    if contact is None:
        return Contact.objects.create(account=account, email=person.email, **values), []
    return contact, _fill_empty(contact, values)


@transaction.atomic
def person_convert(
    *,
    person: PersonInput,
    account_id: int | None,
    deal: DealInput,
    owner: User,
    team: Team | None,
    attribution: Attribution,
) -> Conversion:
    """A contact, an account and a deal for a person handed to sales.

    ``account_id`` is the existing account to use (the caller checked that the user may:
    conversion offers :func:`sales.selectors.account_match` to confirm), or None for a new
    account. An existing account or contact only gets its empty fields filled; nothing
    the rep typed is overwritten.
    """
    pipeline = _pipeline_for(pipeline_id=deal.pipeline_id, team=team)
    first_stage = pipeline.stages.filter(outcome=PipelineStage.Outcome.OPEN).first()
    if first_stage is None:
        raise ApplicationError(_("The pipeline has no open stage."), field="pipeline")
    amount, currency = _money(deal.amount, deal.currency)
    account, created, filled = _account_for(
        person=person, account_id=account_id, owner=owner, team=team
    )
    contact, contact_filled = _contact_for(account=account, person=person)
    new = Deal.objects.create(
        name=deal.name.strip() or account.name,
        account=account,
        contact=contact,
        pipeline=pipeline,
        stage=first_stage,
        amount=amount,
        currency=currency,
        expected_close=deal.expected_close,
        owner=owner,
        team=team,
        lead_id=person.lead_id,
        source=attribution.source,
        campaign_name=attribution.campaign_name,
        first_touch_id=attribution.first_touch_id,
        last_touch_id=attribution.last_touch_id,
    )
    event_record(
        subject_type=DEAL,
        subject_id=new.pk,
        kind=Event.Kind.CREATED,
        actor=owner,
        new_value=first_stage.name,
    )
    return Conversion(
        deal=new,
        account=account,
        contact=contact,
        account_created=created,
        filled=filled + contact_filled,
    )


def _pipeline_for(*, pipeline_id: int | None, team: Team | None) -> Pipeline:
    if pipeline_id is None:
        pipeline = selectors.default_pipeline(team=team)
        if pipeline is None:
            raise ApplicationError(_("No pipeline is set up yet; ask an admin to create one."))
        return pipeline
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
    if pipeline is None or (
        pipeline.team_id is not None and pipeline.team_id != getattr(team, "pk", None)
    ):
        raise ApplicationError(_("Choose one of your team's pipelines."), field="pipeline")
    return pipeline


def _money(amount: Decimal, currency: str) -> tuple[Decimal, str]:
    if amount < 0:
        raise ApplicationError(_("The amount cannot be negative."), field="amount")
    code = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ApplicationError(
            _("Give the currency as a three-letter code such as EUR."), field="currency"
        )
    return amount, code


@transaction.atomic
def deal_update(
    *,
    deal_id: int,
    actor: User,
    name: str,
    amount: Decimal,
    currency: str,
    expected_close: datetime.date | None,
) -> Deal:
    deal = Deal.objects.select_for_update().get(pk=deal_id)
    if not name.strip():
        raise ApplicationError(_("Give the deal a name."), field="name")
    deal.amount, deal.currency = _money(amount, currency)
    deal.name = name.strip()
    deal.expected_close = expected_close
    deal.save(update_fields=["name", "amount", "currency", "expected_close"])
    return deal


def _close_reason(outcome: str, reason: str) -> str:
    """The reason as it stands in the active list for this outcome, else a clear error."""
    label = reason.strip()
    if not label:
        message = (
            _("Say why the deal was won.") if outcome == "won" else _("Say why the deal was lost.")
        )
        raise ApplicationError(message, field="reason")
    known = CloseReason.objects.filter(kind=outcome, label=label, is_active=True).exists()
    if not known:
        raise ApplicationError(_("Choose a reason from the list."), field="reason")
    return label


@transaction.atomic
def deal_move(
    *, deal_id: int, stage_id: int, actor: User, reason: str = "", note: str = ""
) -> Deal:
    """Move a deal to another stage of its pipeline; an event records every move.

    Won and lost need a reason from the editable lists. Closing publishes deal.won or
    deal.lost; reopening a closed deal clears its close date and reason.
    """
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal_id)
    stage = PipelineStage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise ApplicationError(_("That stage is not in this deal's pipeline."), field="stage")
    if stage.pk == deal.stage_id:
        return deal
    closing = stage.outcome != PipelineStage.Outcome.OPEN
    label = _close_reason(stage.outcome, reason) if closing else ""
    old = deal.stage
    now = timezone.now()
    event_record(
        subject_type=DEAL,
        subject_id=deal.pk,
        kind=Event.Kind.STAGE,
        actor=actor,
        reason=label,
        old_value=old.name,
        new_value=stage.name,
    )
    deal.stage = stage
    deal.stage_changed_at = deal.last_activity_at = now
    deal.closed_at = now if closing else None
    deal.close_reason = label
    deal.close_note = note.strip()[:500] if closing else ""
    deal.save(
        update_fields=[
            "stage",
            "stage_changed_at",
            "last_activity_at",
            "closed_at",
            "close_reason",
            "close_note",
        ]
    )
    bus.publish(
        "deal.stage_changed",
        deal_id=deal.pk,
        old_stage_id=old.pk,
        new_stage_id=stage.pk,
        actor=actor,
    )
    if stage.outcome == PipelineStage.Outcome.WON:
        bus.publish("deal.won", deal_id=deal.pk, lead_id=deal.lead_id, actor=actor)
    elif stage.outcome == PipelineStage.Outcome.LOST:
        bus.publish("deal.lost", deal_id=deal.pk, lead_id=deal.lead_id, actor=actor)
    return deal


@transaction.atomic
def touch_log(
    *,
    actor: User,
    kind: str,
    outcome: str = "",
    body: str = "",
    lead_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
) -> Touch:
    """Record a call, email, meeting or note on a lead, a contact or a deal.

    A touch on a deal counts as its activity (stale deals are measured from it). The
    touch's person (the lead, or the lead behind the contact or deal) is published as
    ``touch.logged``, so the handoff app can stop a first-touch clock that is running.
    """
    if kind not in Touch.Kind.values:
        raise ApplicationError(_("Choose call, email, meeting or note."), field="kind")
    if lead_id is None and contact_id is None and deal_id is None:
        raise ApplicationError(_("Say what the touch is about."))
    person = lead_id
    if deal_id is not None:
        deal = Deal.objects.select_for_update().get(pk=deal_id)
        deal.last_activity_at = timezone.now()
        deal.save(update_fields=["last_activity_at"])
        contact_id = contact_id or deal.contact_id
        person = person or deal.lead_id
    if contact_id is not None and person is None:
        person = Contact.objects.filter(pk=contact_id).values_list("lead_id", flat=True).first()
    touch = Touch.objects.create(
        actor=actor,
        kind=kind,
        outcome=outcome.strip()[:200],
        body=body,
        lead_id=lead_id,
        contact_id=contact_id,
        deal_id=deal_id,
    )
    if person is not None:
        bus.publish("touch.logged", lead_id=person, touch_id=touch.pk, actor=actor)
    return touch


# --- Tasks -----------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: User,
    owner: User,
    title: str,
    due_at: datetime.datetime,
    remind_at: datetime.datetime | None = None,
    deal_id: int | None = None,
    contact_id: int | None = None,
    account_id: int | None = None,
) -> Task:
    """A task for ``owner``; its reminder goes out at ``remind_at`` (default: when due)."""
    if not title.strip():
        raise ApplicationError(_("Say what needs doing."), field="title")
    if timezone.is_naive(due_at):
        raise ApplicationError(_("Give the due time with its time zone."), field="due_at")
    remind = remind_at or due_at
    if remind > due_at:
        raise ApplicationError(
            _("The reminder must not come after the due time."), field="remind_at"
        )
    return Task.objects.create(
        title=title.strip()[:200],
        due_at=due_at,
        remind_at=remind,
        owner=owner,
        created_by=actor,
        deal_id=deal_id,
        contact_id=contact_id,
        account_id=account_id,
    )


@transaction.atomic
def task_complete(*, task_id: int, actor: User) -> Task:
    """Mark a task done (idempotent: a second click keeps the first time). Finishing a
    task on a deal is activity on the deal."""
    now = timezone.now()
    if Task.objects.filter(pk=task_id, done_at=None).update(done_at=now):
        task = Task.objects.get(pk=task_id)
        if task.deal_id is not None:
            Deal.objects.filter(pk=task.deal_id).update(last_activity_at=now)
        return task
    return Task.objects.get(pk=task_id)


REMINDER_BATCH = 500


def _task_url(task: Task) -> str:
    if task.deal_id:
        return reverse("sales:deal", args=[task.deal_id])
    if task.contact_id:
        return reverse("sales:contact", args=[task.contact_id])
    if task.account_id:
        return reverse("sales:account", args=[task.account_id])
    return ""


@transaction.atomic
def task_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Notify the owners of tasks whose reminder time has come; each reminder once.

    Rows are claimed with SKIP LOCKED, so two beat runs (or two workers) split the work
    instead of waiting; the notification's dedupe key makes a retry after a crash send
    nothing twice. Returns the number of reminders handled in this batch.
    """
    now = now or timezone.now()
    tasks = list(
        Task.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("owner", "deal")
        .filter(done_at=None, reminded_at=None, remind_at__lte=now)
        .order_by("remind_at")[:REMINDER_BATCH]
    )
    for task in tasks:
        notification_send(
            user=task.owner,
            kind=NotificationKind.TASK_REMINDER,
            subject=(_("Task due: %(title)s") % {"title": task.title})[:200],
            body=task.deal.name if task.deal else "",
            url=_task_url(task),
            dedupe_key=f"task.reminder:{task.pk}",
        )
    Task.objects.filter(pk__in=[task.pk for task in tasks]).update(reminded_at=now)
    return len(tasks)


# --- Privacy: the person behind a lead (called by handoff.services) --------------------


@dataclass(frozen=True)
class SalesErasure:
    contacts: int
    touches: int
    deals_renamed: int
    accounts_renamed: int


def _mentions(field: str, needles: set[str]) -> Q | None:
    query = None
    for needle in needles:
        clause = Q(**{f"{field}__icontains": needle})
        query = clause if query is None else query | clause
    return query


@transaction.atomic
def contact_erase_for_lead(
    *, lead_id: int, email: str = "", first_name: str = "", last_name: str = "", phone: str = ""
) -> SalesErasure:
    """Anonymise sales' copy of the person behind a lead; every row stays for the counts.

    The person's contacts are those converted from the lead plus any contact with the same
    address (conversion reuses an account's contact by email, whatever lead it came from).
    Cleared: those contacts' names, email, phone and title; the notes and outcomes of
    touches on the lead, its contacts and their deals (free text about the person); a close
    reason or note that names them. A deal named after the person becomes "Deal #id", an account
    named after the address (free-mail, no company) "Account #id". Kept: accounts, deals,
    amounts, stages, touch kinds, actors and dates.
    """
    by_person = (Q(lead_id=lead_id) | Q(email__iexact=email)) if email else Q(lead_id=lead_id)
    contact_ids = list(Contact.objects.filter(by_person).values_list("pk", flat=True))
    deal_ids = list(
        Deal.objects.filter(Q(lead_id=lead_id) | Q(contact_id__in=contact_ids)).values_list(
            "pk", flat=True
        )
    )
    touches = Touch.objects.filter(
        Q(lead_id=lead_id) | Q(contact_id__in=contact_ids) | Q(deal_id__in=deal_ids)
    ).update(body="", outcome="")

    full_name = f"{first_name} {last_name}".strip()
    # Short first names ("Al") occur inside ordinary words; a last name is kept from 2.
    needles = {n for n in (email, full_name, last_name, phone) if len(n) >= 2}
    if len(first_name) >= 3:
        needles.add(first_name)
    deals_renamed = 0
    named = _mentions("name", needles)
    if named is not None:
        deals_renamed = (
            Deal.objects.filter(pk__in=deal_ids)
            .filter(named)
            .update(name=Concat(Value("Deal #"), Cast("id", CharField())))
        )
    for field in ("close_reason", "close_note"):
        said = _mentions(field, needles)
        if said is not None:
            Deal.objects.filter(pk__in=deal_ids).filter(said).update(**{field: ""})
    account_ids: list[int] = []
    if email:
        account_ids = list(
            Account.objects.filter(
                Q(contacts__pk__in=contact_ids) | Q(deals__pk__in=deal_ids), name__iexact=email
            )
            .values_list("pk", flat=True)
            .distinct()
        )
        Account.objects.filter(pk__in=account_ids).update(
            name=Concat(Value("Account #"), Cast("id", CharField()))
        )
    contacts = Contact.objects.filter(pk__in=contact_ids).update(
        first_name="", last_name="", email="", phone="", job_title=""
    )
    # Django admin's history names objects by str(): the contact's name, the deal's name.
    # (Every listed deal, not only the renamed ones: the log keeps the name of that time.)
    history: tuple[tuple[type[Contact | Deal | Account], list[int]], ...] = (
        (Contact, contact_ids),
        (Deal, deal_ids),
        (Account, account_ids),
    )
    for model, ids in history:
        if ids:
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=[str(pk) for pk in ids],
            ).update(object_repr=Concat(Value("#"), F("object_id")), change_message="")
    return SalesErasure(
        contacts=contacts,
        touches=touches,
        deals_renamed=deals_renamed,
        accounts_renamed=len(account_ids),
    )


@transaction.atomic
def lead_references_move(*, from_lead_id: int, to_lead_id: int) -> int:
    """Point sales' rows (contacts, deals, touches) of a lead merged away at the survivor,
    so the merge deletes nothing of sales' history. Returns the number of rows moved."""
    return (
        Contact.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id)
        + Deal.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id)
        + Touch.objects.filter(lead_id=from_lead_id).update(lead_id=to_lead_id)
    )
