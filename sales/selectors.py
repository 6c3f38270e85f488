"""Sales reads, with the visibility rules: who may see which deals, accounts and tasks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from leadflow.models import Event, Role, Team, User
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

# --- Visibility ------------------------------------------------------------------------


def _sees_everything(user: User) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def _team_shares(user: User) -> bool:
    return bool(user.team_id and user.team and user.team.visibility == Team.Visibility.SHARED)


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Reps: their own deals, or the team's when the team shares; managers: their team's
    (a manager without a team, and admins, see all); marketers: none."""
    deals = Deal.objects.all()
    if _sees_everything(user):
        return deals
    if user.role == Role.MANAGER:
        return deals.filter(team_id=user.team_id) if user.team_id else deals
    if user.role == Role.REP:
        if _team_shares(user):
            return deals.filter(Q(owner=user) | Q(team_id=user.team_id))
        return deals.filter(owner=user)
    return deals.none()


def accounts_visible_to(user: User) -> QuerySet[Account]:
    """An account is visible with one of its deals, or to its owner; a manager (and a rep
    of a sharing team) also sees the team's accounts."""
    accounts = Account.objects.all()
    if _sees_everything(user) or (user.role == Role.MANAGER and not user.team_id):
        return accounts
    if user.role not in (Role.REP, Role.MANAGER):
        return accounts.none()
    # A semi-join (IN), not a correlated EXISTS: Postgres hashes the visible deals' accounts
    # once instead of probing deals for every account.
    with_deal = Q(pk__in=deals_visible_to(user).values("account_id"))
    mine = Q(owner=user)
    if user.role == Role.MANAGER or _team_shares(user):
        mine |= Q(team_id=user.team_id)
    return accounts.filter(mine | with_deal)


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    return Contact.objects.filter(account__in=accounts_visible_to(user))


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """A rep's own tasks and the tasks on deals they see; a manager's team's tasks."""
    tasks = Task.objects.all()
    if _sees_everything(user):
        return tasks
    if user.role not in (Role.REP, Role.MANAGER):
        return tasks.none()
    on_visible_deal = Q(deal__in=deals_visible_to(user))
    if user.role == Role.MANAGER:
        return (
            tasks.filter(Q(owner__team_id=user.team_id) | on_visible_deal)
            if user.team_id
            else tasks
        )
    return tasks.filter(Q(owner=user) | on_visible_deal)


def deal_get_for(*, user: User, deal_id: int) -> Deal:
    """The deal if this user may see it, else 404 (existence is not leaked)."""
    deal = (
        deals_visible_to(user)
        .select_related(
            "account",
            "contact",
            "owner",
            "pipeline",
            "stage",
            "first_touch__campaign",
            "last_touch__campaign",
        )
        .filter(pk=deal_id)
        .first()
    )
    if deal is None:
        raise Http404
    return deal


def account_get_for(*, user: User, account_id: int) -> Account:
    account = (
        accounts_visible_to(user).select_related("owner", "team").filter(pk=account_id).first()
    )
    if account is None:
        raise Http404
    return account


def contact_get_for(*, user: User, contact_id: int) -> Contact:
    contact = contacts_visible_to(user).select_related("account").filter(pk=contact_id).first()
    if contact is None:
        raise Http404
    return contact


def task_get_for(*, user: User, task_id: int) -> Task:
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


# --- Conversion ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountMatch:
    """The existing account a person belongs to, and how it was found."""

    BY_DOMAIN = "domain"
    BY_NAME = "name"

    account: Account | None
    by: str  # BY_DOMAIN, BY_NAME or "" (no match)
    domain: str  # the person's company domain; "" for a free-mail address


def account_match(*, email: str, company: str) -> AccountMatch:
    """By the email's domain (never a free-mail one: gmail.com is nobody's company), else
    by the company name, case-insensitively."""
    domain = email_domain(email)
    if domain in FREEMAIL_DOMAINS:
        domain = ""
    if domain:
        account = Account.objects.select_related("owner").filter(domain=domain).first()
        if account:
            return AccountMatch(account=account, by=AccountMatch.BY_DOMAIN, domain=domain)
    if company.strip():
        account = (
            Account.objects.select_related("owner")
            .filter(name__iexact=company.strip())
            .order_by("id")
            .first()
        )
        if account:
            return AccountMatch(account=account, by=AccountMatch.BY_NAME, domain=domain)
    return AccountMatch(account=None, by="", domain=domain)


def default_pipeline(*, team: Team | None) -> Pipeline | None:
    """The team's default pipeline, else the global default, else any."""
    pipeline = (
        Pipeline.objects.filter(team=team).order_by("-is_default", "id").first() if team else None
    )
    return (
        pipeline
        or Pipeline.objects.filter(is_default=True, team=None).order_by("id").first()
        or Pipeline.objects.filter(team=None).order_by("id").first()
    )


def pipelines_for(user: User) -> QuerySet[Pipeline]:
    """The pipelines a user works in: their team's and the shared ones (team not set)."""
    pipelines = Pipeline.objects.all()
    if user.team_id and not _sees_everything(user):
        pipelines = pipelines.filter(Q(team_id=user.team_id) | Q(team=None))
    return pipelines.order_by("-is_default", "name")


def close_reasons() -> dict[str, list[str]]:
    """The active won and lost reasons, in order: {"won": [...], "lost": [...]}."""
    reasons: dict[str, list[str]] = {"won": [], "lost": []}
    for kind, label in CloseReason.objects.filter(is_active=True).values_list("kind", "label"):
        reasons[kind].append(label)
    return reasons


# --- Board and list --------------------------------------------------------------------


@dataclass(frozen=True)
class DealFilter:
    owner_id: int | None = None
    close_month: datetime.date | None = None  # the first day of the month
    status: str = ""  # "", "open", "won", "lost", "closed"
    stage_id: int | None = None

    def apply(self, deals: QuerySet[Deal]) -> QuerySet[Deal]:
        if self.stage_id:
            deals = deals.filter(stage_id=self.stage_id)
        if self.owner_id:
            deals = deals.filter(owner_id=self.owner_id)
        if self.close_month:
            # A range, not EXTRACT(month): comparable with an index and the statistics.
            month = self.close_month
            following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
            deals = deals.filter(expected_close__gte=month, expected_close__lt=following)
        if self.status == "open":
            deals = deals.filter(stage__outcome=PipelineStage.Outcome.OPEN)
        elif self.status in ("won", "lost"):
            deals = deals.filter(stage__outcome=self.status)
        elif self.status == "closed":
            deals = deals.exclude(stage__outcome=PipelineStage.Outcome.OPEN)
        return deals


@dataclass
class Money:
    """Totals by currency: deals in different currencies are never added together."""

    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, amount: Decimal) -> None:
        self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount

    def items(self) -> list[tuple[str, Decimal]]:
        return sorted(self.amounts.items())


@dataclass
class Column:
    stage: PipelineStage
    deals: list[Deal]
    count: int
    total: Money
    weighted: Money


# A column shows its newest cards; its count and totals cover all, and a link opens the
# rest in the list (thousands of cards are neither readable nor quick to render).
BOARD_CARDS_PER_COLUMN = 50


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount") * F("stage__probability") / 100,
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def pipeline_board(
    *, user: User, pipeline: Pipeline, filters: DealFilter | None = None
) -> list[Column]:
    """The kanban columns: each stage with its visible deals, count, total and weighted
    total (amount times the stage's probability), per currency. Totals cover every matching
    deal; a column lists the newest ``BOARD_CARDS_PER_COLUMN`` cards."""
    deals = (filters or DealFilter()).apply(deals_visible_to(user).filter(pipeline=pipeline))
    columns = {
        stage.pk: Column(stage=stage, deals=[], count=0, total=Money(), weighted=Money())
        for stage in PipelineStage.objects.filter(pipeline=pipeline).order_by("position", "id")
    }
    for stage_id, currency, total, weighted, count in (
        deals.values_list("stage_id", "currency")
        .annotate(total=Sum("amount"), weighted=Sum(_weighted()), count=Count("id"))
        .order_by()
    ):
        column = columns[stage_id]
        column.total.add(currency, total)
        column.weighted.add(currency, weighted)
        column.count += count
    # Each column's newest cards: one indexed, LIMITed query per stage (deal_board_idx),
    # so the work follows the number of stages and cards shown, not the deals in the set.
    for stage_id, column in columns.items():
        column.deals = list(
            deals.filter(stage_id=stage_id)
            .select_related("account", "owner")
            .order_by("-created_at", "-id")[:BOARD_CARDS_PER_COLUMN]
        )
    return list(columns.values())


def deal_list(
    *, user: User, filters: DealFilter, pipeline: Pipeline | None = None
) -> QuerySet[Deal]:
    """The list view: the board's deals as rows, closed ones included, newest first."""
    deals = filters.apply(deals_visible_to(user))
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    order = (
        ("-closed_at", "-id")
        if filters.status in ("won", "lost", "closed")
        else ("-created_at", "-id")
    )
    return deals.select_related("account", "owner", "stage", "pipeline").order_by(*order)


def board_value(columns: list[Column]) -> tuple[Money, Money]:
    """(total, weighted) of the board's open columns: its open pipeline, without a query."""
    total, weighted = Money(), Money()
    for column in columns:
        if column.stage.outcome == PipelineStage.Outcome.OPEN:
            for currency, amount in column.total.items():
                total.add(currency, amount)
            for currency, amount in column.weighted.items():
                weighted.add(currency, amount)
    return total, weighted


def pipeline_value(deals: QuerySet[Deal]) -> tuple[Money, Money]:
    """(total, weighted) of the open deals among ``deals``, per currency."""
    total, weighted = Money(), Money()
    for currency, amount, weight in (
        deals.filter(stage__outcome=PipelineStage.Outcome.OPEN)
        .values_list("currency")
        .annotate(total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by()
    ):
        total.add(currency, amount)
        weighted.add(currency, weight)
    return total, weighted


def deal_owners_for(user: User) -> QuerySet[User]:
    """Whom the owner filter offers: the team's people (all sales people for those who see
    every deal; oneself for a rep of a private team). Read from users, not from the deals:
    a semi-join over every visible deal costs more than the whole board."""
    users = User.objects.filter(is_active=True, role__in=[Role.REP, Role.MANAGER])
    if user.team_id is not None and not _sees_everything(user):
        if user.role == Role.MANAGER or _team_shares(user):
            users = users.filter(team=user.team)
        else:
            users = users.filter(pk=user.pk)
    elif user.role == Role.REP:
        users = users.filter(pk=user.pk)
    return users.order_by("first_name", "last_name", "username")


# --- Today -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleDeal:
    deal: Deal
    idle_days: int


def tasks_due_for(*, user: User, until: datetime.datetime) -> list[Task]:
    """The user's open tasks due before ``until`` (overdue ones first)."""
    return list(
        Task.objects.filter(owner=user, done_at=None, due_at__lt=until)
        .select_related("deal", "contact", "account")
        .order_by("due_at", "id")[:200]
    )


def tasks_upcoming_for(*, user: User, after: datetime.datetime) -> list[Task]:
    return list(
        Task.objects.filter(owner=user, done_at=None, due_at__gte=after)
        .select_related("deal", "contact", "account")
        .order_by("due_at", "id")[:20]
    )


def stale_deals_for(*, user: User, now: datetime.datetime | None = None) -> list[StaleDeal]:
    """The user's open deals with no activity for longer than their stage allows."""
    now = now or timezone.now()
    limit = ExpressionWrapper(
        F("last_activity_at") + F("stage__stale_after_days") * Value(datetime.timedelta(days=1)),
        output_field=DateTimeField(),
    )
    deals = (
        Deal.objects.filter(owner=user, closed_at=None, stage__outcome=PipelineStage.Outcome.OPEN)
        .annotate(stale_at=limit)
        .filter(stale_at__lt=now)
        .select_related("account", "stage")
        .order_by("last_activity_at", "id")[:100]
    )
    return [StaleDeal(deal=deal, idle_days=(now - deal.last_activity_at).days) for deal in deals]


def deals_closed_recently_for(*, user: User, since: datetime.datetime) -> list[Deal]:
    return list(
        Deal.objects.filter(owner=user, closed_at__gte=since)
        .select_related("account", "stage")
        .order_by("-closed_at")[:20]
    )


# --- Record pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoryEntry:
    """One line of a deal's story, from the first marketing touch to today."""

    at: datetime.datetime
    source: str  # "marketing", "lead", "handoff", "deal", "touch"
    title: str
    detail: str = ""
    actor: User | None = None


SUBJECT_SOURCES = {"marketing.lead": "lead", "handoff.handoff": "handoff", "sales.deal": "deal"}


def _event_title(event: Event) -> str:
    change = f"{event.old_value} → {event.new_value}" if event.old_value else event.new_value
    return f"{event.get_kind_display()}: {change}" if change else str(event.get_kind_display())


def deal_story(*, deal: Deal) -> list[StoryEntry]:
    """Everything that led to this deal, oldest first: the lead's marketing touchpoints,
    the lead's stage and owner changes, the handoffs, the deal's moves and every touch
    by sales on the lead, the contact or the deal. A bounded number of queries."""
    entries: list[StoryEntry] = []
    subjects = Q(subject_type="sales.deal", subject_id=deal.pk)
    if deal.lead is not None:
        lead = deal.lead
        for point in lead.touchpoints.select_related("campaign").order_by("created_at")[:200]:
            via = " · ".join(
                part
                for part in (
                    point.campaign.name if point.campaign else "",
                    point.utm_source,
                    point.utm_medium,
                )
                if part
            )
            entries.append(
                StoryEntry(
                    at=point.created_at,
                    source="marketing",
                    title=str(point.get_kind_display()),
                    detail=via or point.landing_page,
                )
            )
        handoff_ids = lead.handoffs.values("id")
        subjects |= Q(subject_type="marketing.lead", subject_id=lead.pk)
        subjects |= Q(subject_type="handoff.handoff", subject_id__in=handoff_ids)
    for event in (
        Event.objects.filter(subjects).select_related("actor").order_by("created_at", "id")[:500]
    ):
        entries.append(
            StoryEntry(
                at=event.created_at,
                source=SUBJECT_SOURCES.get(event.subject_type, "deal"),
                title=_event_title(event),
                detail=" · ".join(part for part in (event.rule, event.reason) if part),
                actor=event.actor,
            )
        )
    on_person = Q(deal=deal)
    if deal.contact_id:
        on_person |= Q(contact_id=deal.contact_id)
    if deal.lead_id:
        on_person |= Q(lead_id=deal.lead_id)
    for touch in (
        Touch.objects.filter(on_person).select_related("actor").order_by("created_at")[:500]
    ):
        entries.append(
            StoryEntry(
                at=touch.created_at,
                source="touch",
                title=str(touch.get_kind_display()),
                detail=" · ".join(part for part in (touch.outcome, touch.body) if part),
                actor=touch.actor,
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


def account_page(*, user: User, account: Account) -> dict[str, Any]:
    """An account with everything related that this user may see."""
    deals = list(
        deals_visible_to(user)
        .filter(account=account)
        .select_related("stage", "owner")
        .order_by("-created_at")[:200]
    )
    contacts = list(account.contacts.order_by("last_name", "first_name")[:200])
    touches = list(
        Touch.objects.filter(Q(contact__account=account) | Q(deal__in=[d.pk for d in deals]))
        .select_related("actor", "contact", "deal")
        .order_by("-created_at")[:100]
    )
    tasks = list(
        tasks_visible_to(user)
        .filter(
            Q(account=account) | Q(deal__in=[d.pk for d in deals]) | Q(contact__account=account)
        )
        .filter(done_at=None)
        .select_related("owner", "deal")
        .order_by("due_at")[:100]
    )
    return {"deals": deals, "contacts": contacts, "touches": touches, "tasks": tasks}


def contact_page(*, user: User, contact: Contact) -> dict[str, Any]:
    deals = list(
        deals_visible_to(user)
        .filter(contact=contact)
        .select_related("stage", "owner")
        .order_by("-created_at")[:100]
    )
    on_person = Q(contact=contact) | Q(deal__in=[d.pk for d in deals])
    if contact.lead_id:
        on_person |= Q(lead_id=contact.lead_id)
    touches = list(
        Touch.objects.filter(on_person)
        .select_related("actor", "deal")
        .order_by("-created_at")[:100]
    )
    tasks = list(
        tasks_visible_to(user)
        .filter(Q(contact=contact) | Q(deal__in=[d.pk for d in deals]), done_at=None)
        .select_related("owner")
        .order_by("due_at")[:100]
    )
    return {"deals": deals, "touches": touches, "tasks": tasks}


def account_list(*, user: User, query: str = "") -> QuerySet[Account]:
    accounts = accounts_visible_to(user)
    if query.strip():
        q = query.strip()
        accounts = accounts.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    # A correlated subquery, not a join and GROUP BY: Postgres counts only for the rows of
    # the page shown, after the LIMIT.
    open_deals = (
        Deal.objects.filter(account_id=OuterRef("pk"), closed_at=None)
        .order_by()
        .values("account_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        accounts.select_related("owner")
        .annotate(open_deals=Coalesce(Subquery(open_deals), 0))
        .order_by("name", "id")
    )


def person_data_for_lead(*, lead_id: int, email: str = "") -> dict[str, Any]:
    """Sales' records of the person behind a lead, for the export of their data: contacts
    (converted from the lead, or with its address), their deals and the touches on them."""
    by_person = (Q(lead_id=lead_id) | Q(email__iexact=email)) if email else Q(lead_id=lead_id)
    contacts = list(Contact.objects.filter(by_person).select_related("account").order_by("pk"))
    contact_ids = [contact.pk for contact in contacts]
    deals = list(
        Deal.objects.filter(Q(lead_id=lead_id) | Q(contact_id__in=contact_ids))
        .select_related("stage", "owner", "account")
        .order_by("pk")
    )
    touches = (
        Touch.objects.filter(
            Q(lead_id=lead_id)
            | Q(contact_id__in=contact_ids)
            | Q(deal_id__in=[deal.pk for deal in deals])
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    return {
        "contacts": [
            {
                "id": contact.pk,
                "account": contact.account.name,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "email": contact.email,
                "phone": contact.phone,
                "job_title": contact.job_title,
                "created_at": contact.created_at.isoformat(),
            }
            for contact in contacts
        ],
        "deals": [
            {
                "id": deal.pk,
                "name": deal.name,
                "account": deal.account.name,
                "stage": deal.stage.name,
                "amount": str(deal.amount),
                "currency": deal.currency,
                "owner": deal.owner.username,
                "close_reason": deal.close_reason,
                "close_note": deal.close_note,
                "created_at": deal.created_at.isoformat(),
                "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
            }
            for deal in deals
        ],
        "touches": [
            {
                "kind": touch.kind,
                "outcome": touch.outcome,
                "body": touch.body,
                "by": touch.actor.username,
                "deal_id": touch.deal_id,
                "created_at": touch.created_at.isoformat(),
            }
            for touch in touches
        ],
    }
