"""The plumbing every KPI shares: the filter (period, team, campaign, source, whose own
numbers), the WHERE clause built from it, the raw SQL that runs on the read replica, and
the names that label the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _

from leadflow.db import read_alias, replica_reads
from leadflow.models import Role, Team, User
from marketing.models import Campaign


@dataclass(frozen=True)
class KpiFilter:
    start: dt.date
    end: dt.date  # included
    team_id: int | None = None
    campaign_id: int | None = None
    source: str = ""
    # Whose own numbers: a rep's handoffs; a marketer's campaigns.
    rep_id: int | None = None
    campaign_ids: tuple[int, ...] | None = None

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def has_lead_side(self) -> bool:
        return self.rep_id is None

    def previous(self) -> KpiFilter:
        """The same filter over the period of the same length just before this one."""
        return replace(
            self, start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(1)
        )

    def shifted(self, start: dt.date, end: dt.date) -> KpiFilter:
        return replace(self, start=start, end=end)


def filter_for(
    user: User,
    *,
    start: dt.date,
    end: dt.date,
    team_id: int | None = None,
    campaign_id: int | None = None,
    source: str = "",
) -> KpiFilter:
    """The filter a user may use: managers and admins anything; a rep their own handoffs
    (in their team); a marketer the campaigns they own."""
    rep_id = None
    campaign_ids = None
    if user.role == Role.REP and not user.is_superuser:
        team_id, rep_id = user.team_id, user.pk
    elif user.role == Role.MARKETER and not user.is_superuser:
        campaign_ids = tuple(Campaign.objects.filter(owner=user).values_list("pk", flat=True))
    return KpiFilter(
        start=start,
        end=end,
        team_id=team_id,
        campaign_id=campaign_id,
        source=source,
        rep_id=rep_id,
        campaign_ids=campaign_ids,
    )


# --- SQL helpers -----------------------------------------------------------------------


def _where(
    f: KpiFilter,
    *,
    period: str | None,
    campaign: str = "campaign_id",
    team: str | None = "team_id",
    rep: str | None = "rep_id",
) -> tuple[str, dict[str, Any]]:
    """A WHERE clause (column names are constants) and its parameters for ``f``."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if period == "day":
        parts.append("day >= %(start)s AND day <= %(end)s")
        params |= {"start": f.start, "end": f.end}
    elif period:
        parts.append(f"{period} >= %(since)s AND {period} < %(until)s")
        params |= {"since": f.since, "until": f.until}
    if f.campaign_id is not None:
        parts.append(f"{campaign} = %(campaign)s")
        params["campaign"] = f.campaign_id
    if f.campaign_ids is not None:
        parts.append(f"{campaign} = ANY(%(campaigns)s)")
        params["campaigns"] = list(f.campaign_ids)
    if f.source:
        parts.append("source = %(source)s")
        params["source"] = f.source
    if team and f.team_id is not None:
        parts.append(f"{team} = %(team)s")
        params["team"] = f.team_id
    if rep and f.rep_id is not None:
        parts.append(f"{rep} = %(rep)s")
        params["rep"] = f.rep_id
    return " AND ".join(parts) or "TRUE", params


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The KPIs' SQL runs on the read replica when one is configured (DATABASE_REPLICA_URL):
    the figures may lag the primary by the replica's delay, as the rollups do anyway."""
    with replica_reads(), connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _one(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    return _rows(sql, params)[0]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _pct(part: float, whole: float) -> float | None:
    return 100 * part / whole if whole else None


def _user_names(ids: Sequence[int | None]) -> dict[int | None, str]:
    found = {i for i in ids if i is not None}
    names: dict[int | None, str] = {None: _("Team pool")}
    for user in User.objects.filter(pk__in=found).only("username", "first_name", "last_name"):
        names[user.pk] = user.get_full_name() or user.username
    return names


def _team_names() -> dict[int | None, str]:
    return dict(Team.objects.values_list("pk", "name"))


def _campaign_names() -> dict[int | None, str]:
    names: dict[int | None, str] = dict(Campaign.objects.values_list("pk", "name"))
    names[None] = _("No campaign")
    return names
