"""The kanban board and the deal list: filters, columns, per-currency totals and the
owner filter's choices."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
)

from leadflow.models import Role, User
from sales.models import (
    Deal,
    Pipeline,
    PipelineStage,
)
from sales.selectors.visibility import _sees_everything, _team_shares, deals_visible_to


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
