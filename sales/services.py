"""Sales writes: accounts, contacts, deals, stage moves and touches."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow import bus
from leadflow.errors import ApplicationError
from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from leadflow.models import Event, Team, User
from leadflow.services import event_record
from sales.models import Account, Contact, Deal, Pipeline, PipelineStage, Touch

DEAL = "sales.deal"


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


def account_match_or_create(*, company: str, email: str, owner: User, team: Team | None) -> Account:
    """The account for this person: by email domain (never a free-mail one), else by name."""
    domain = email_domain(email)
    if domain in FREEMAIL_DOMAINS:
        domain = ""
    if domain:
        account = Account.objects.filter(domain=domain).first()
        if account:
            return account
    if company:
        account = Account.objects.filter(name__iexact=company.strip()).first()
        if account:
            if domain and not account.domain:
                account.domain = domain
                account.save(update_fields=["domain"])
            return account
    try:
        # A savepoint: two conversions from one new domain at once must meet on one row.
        with transaction.atomic():
            return Account.objects.create(
                name=company.strip() or domain or email, domain=domain, owner=owner, team=team
            )
    except IntegrityError:
        return Account.objects.get(domain=domain)


def default_pipeline(*, team: Team | None) -> Pipeline:
    pipeline = (
        Pipeline.objects.filter(team=team).order_by("-is_default", "id").first() if team else None
    )
    return (
        pipeline
        or Pipeline.objects.filter(is_default=True).order_by("id").first()
        or (
            Pipeline.objects.order_by("id").first()  # type: ignore[return-value]
        )
    )


@transaction.atomic
def deal_create_from_person(
    *,
    person: PersonInput,
    owner: User,
    team: Team | None,
    name: str,
    amount: Decimal,
    expected_close: datetime.date | None,
    source: str = "",
    campaign_name: str = "",
) -> Deal:
    account = account_match_or_create(
        company=person.company, email=person.email, owner=owner, team=team
    )
    contact = Contact.objects.filter(account=account, email__iexact=person.email).first()
    if contact is None:
        contact = Contact.objects.create(
            account=account,
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            phone=person.phone,
            job_title=person.job_title,
            lead_id=person.lead_id,
        )
    pipeline = default_pipeline(team=team)
    if pipeline is None:
        raise ApplicationError(_("No pipeline is set up yet; ask an admin to create one."))
    first_stage = pipeline.stages.filter(outcome=PipelineStage.Outcome.OPEN).first()
    if first_stage is None:
        raise ApplicationError(_("The pipeline has no open stage."))
    deal = Deal.objects.create(
        name=name or f"{account.name}",
        account=account,
        contact=contact,
        pipeline=pipeline,
        stage=first_stage,
        amount=amount,
        expected_close=expected_close,
        owner=owner,
        team=team,
        lead_id=person.lead_id,
        source=source,
        campaign_name=campaign_name,
    )
    event_record(
        subject_type=DEAL,
        subject_id=deal.pk,
        kind=Event.Kind.CREATED,
        actor=owner,
        new_value=first_stage.name,
    )
    return deal


@transaction.atomic
def deal_move(*, deal_id: int, stage_id: int, actor: User, lost_reason: str = "") -> Deal:
    """Move a deal to another stage of its pipeline; closing publishes deal.won/deal.lost."""
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal_id)
    stage = PipelineStage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise ApplicationError(_("That stage is not in this deal's pipeline."), field="stage")
    if stage.pk == deal.stage_id:
        return deal
    if stage.outcome == PipelineStage.Outcome.LOST and not lost_reason.strip():
        raise ApplicationError(_("Say why the deal was lost."), field="lost_reason")
    old = deal.stage
    event_record(
        subject_type=DEAL,
        subject_id=deal.pk,
        kind=Event.Kind.STAGE,
        actor=actor,
        reason=lost_reason,
        old_value=old.name,
        new_value=stage.name,
    )
    deal.stage = stage
    update = ["stage"]
    if stage.outcome != PipelineStage.Outcome.OPEN:
        deal.closed_at = timezone.now()
        deal.lost_reason = lost_reason.strip() if stage.outcome == "lost" else ""
        update += ["closed_at", "lost_reason"]
    elif old.outcome != PipelineStage.Outcome.OPEN:
        deal.closed_at = None
        deal.lost_reason = ""
        update += ["closed_at", "lost_reason"]
    deal.save(update_fields=update)
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
    deal_id: int | None = None,
) -> Touch:
    if kind not in Touch.Kind.values:
        raise ApplicationError(_("Choose call, email, meeting or note."), field="kind")
    return Touch.objects.create(
        actor=actor, kind=kind, outcome=outcome, body=body, lead_id=lead_id, deal_id=deal_id
    )


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
    touches on the lead, its contacts and their deals (free text about the person); a lost
    reason that names them. A deal named after the person becomes "Deal #id", an account
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
    lost = _mentions("lost_reason", needles)
    if lost is not None:
        Deal.objects.filter(pk__in=deal_ids).filter(lost).update(lost_reason="")
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
