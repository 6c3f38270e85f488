"""The rows being built, and the story's state with the helpers every part of it uses."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.backends.utils import CursorWrapper

from handoff.demo.writing import _Ids
from handoff.models import Handoff, QualificationRule
from leadflow.models import Event, Team, User
from marketing import services as marketing
from marketing.models import Channel, Lead, ScoreEntry, ScoringRule, Touchpoint
from sales.models import Account, Contact, Deal, Pipeline, PipelineStage, Touch


@dataclass(frozen=True)
class _CampaignSpec:
    name: str
    channel: Channel
    utm: tuple[str, str, str]  # source, medium, campaign
    spend: tuple[int, int]  # budget, actual cost
    days_ago: tuple[int, int | None]  # starts, ends (None: still running)
    owner: str
    weight: int  # relative share of new leads while it runs
    form: str
    page: str  # landing page
    fast_track: bool = False
    referrer: str = ""
    variants: tuple[str, ...] = ()  # utm_term (search) or utm_content (social)


@dataclass(slots=True)
class _Campaign:
    spec: _CampaignSpec
    id: int
    form_id: int
    form_name: str
    starts: datetime
    ends: datetime | None

    def running(self, at: datetime) -> bool:
        return self.starts <= at and (self.ends is None or at <= self.ends)


@dataclass(slots=True)
class _Company:
    name: str
    domain: str
    country: str
    size: int | None


@dataclass(slots=True)
class _Lead:
    # Unsaved, its id already drawn: marketing's fit rules and handoff's qualification
    # rules read it as they would read the saved row, and it carries the running scores.
    model: Lead
    company: _Company
    campaign: _Campaign  # the first touch's
    touches: list[Touchpoint] = field(default_factory=list)
    scored: int = 0  # touchpoints scored so far, oldest first
    entries: list[ScoreEntry] = field(default_factory=list)
    recycled_because: str = ""  # set when sales sent it back


class _Story:
    """The story's state, shared by its parts (the mixins that make up ``_Demo``), and the
    helpers they all use."""

    # Set by the setup (``_Cast``) and by ``_Demo.build``.
    teams: dict[str, Team]
    users: dict[str, User]
    reps: dict[int, list[User]]
    away_since: datetime
    campaigns: list[_Campaign]
    organic: _Campaign
    qualification: list[QualificationRule]
    fit_rules: list[ScoringRule]
    engagement_rules: dict[str, ScoringRule]
    pipeline: Pipeline
    open_stages: list[PipelineStage]
    won: PipelineStage
    lost: PipelineStage
    companies: list[_Company]

    def __init__(self, cursor: CursorWrapper, rng: random.Random, now: datetime) -> None:
        self.cursor, self.rng, self.now = cursor, rng, now
        self.leads: list[_Lead] = []
        self.handoffs: list[Handoff] = []
        self.accounts: list[Account] = []
        self.accounts_by_domain: dict[str, Account] = {}
        self.accounts_by_name: dict[str, Account] = {}
        self.contacts: list[Contact] = []
        self.deals: list[Deal] = []
        self.touches: list[Touch] = []
        self.events: list[Event] = []
        self.emails: set[str] = set()
        self.last_rep: dict[int, User] = {}  # each team's round-robin cursor
        self.phone_examples: dict[str, tuple[int, str]] = {}
        self.ids = {
            model: _Ids(cursor, model)
            for model in (Lead, Touchpoint, Handoff, Account, Contact, Deal)
        }

    def _pick[T](self, weighted: Sequence[tuple[T, float]]) -> T:
        return self.rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]

    def _minutes(self, median: float, spread: float) -> timedelta:
        """A log-normal delay: most near ``median`` minutes, a long tail of slow ones."""
        return timedelta(minutes=max(0.5, median * math.exp(spread * self.rng.gauss())))

    def _event(
        self,
        subject: tuple[str, int],
        kind: str,
        at: datetime,
        actor: User | None = None,
        **values: str,
    ) -> None:
        """An event as ``event_record`` writes it; ``values``: rule, reason, old, new."""
        self.events.append(
            Event(
                subject_type=subject[0],
                subject_id=subject[1],
                kind=kind,
                actor=actor,
                rule=values.get("rule", "")[:200],
                reason=values.get("reason", "")[:500],
                old_value=values.get("old", "")[:100],
                new_value=values.get("new", "")[:100],
                created_at=at,
            )
        )

    def _lead_stage(
        self, lead: _Lead, stage: str, at: datetime, actor: User | None = None, **why: str
    ) -> None:
        m = lead.model
        self._event(
            (marketing.LEAD, m.pk), Event.Kind.STAGE, at, actor, old=m.stage, new=stage, **why
        )
        m.stage = stage
        m.updated_at = max(m.updated_at, at)
