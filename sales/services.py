"""Sales writes: accounts, contacts, deals, stage moves and touches."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
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
