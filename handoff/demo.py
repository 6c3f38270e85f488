"""Demo data: four believable months of LeadFlow, written once into an empty database.

``seed_demo()`` is the one place that writes many apps' tables directly. Running the
services row by row for 5,000 leads would take minutes and stamp every row with today's
date (``auto_now_add``), so the story is simulated in Python and the rows go in through
``COPY`` with their real timestamps, in one transaction. The numbers still come from the
services' own rules: the ledger is built with marketing's fit-rule evaluation and grade
bands, the handoffs with the ordered qualification rules and the SLA tiers, and each row
is what the services would have written had the story happened in real time, events
included. Ids are drawn from the tables' sequences up front so rows can point at each other
before they exist.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb

from handoff import rollups
from handoff.models import (
    Handoff,
    KpiTarget,
    QualificationRule,
    RejectReason,
    SlaTier,
    TeamRouting,
)
from handoff.services import ACCEPT_WITHIN, HANDOFF
from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from leadflow.models import Event, Role, Team, User
from marketing import scoring
from marketing import services as marketing
from marketing.models import Channel, Lead, ScoreEntry, ScoringRule, Stage, Touchpoint
from sales import selectors as sales_selectors
from sales import services as sales
from sales.models import Account, Contact, Deal, PipelineStage, Touch

SEED = 2026
DEMO_LEADS = 5000
ADMIN_USERNAME = "admin"
PASSWORD = "leadflow-demo"  # noqa: S105 -- the documented demo password
DAYS = 120
SITE = "https://www.leadflow.example"
# rep6 went on leave this long ago; routing has skipped them since.
AWAY_FOR = timedelta(days=9)
# The first-touch clock of the default SLA tiers (migration 0004), for the dashboard's SLA
# attainment; the demo counts it in wall-clock time.
TOUCH_WITHIN = {SlaTier.HOT: timedelta(minutes=60), SlaTier.STANDARD: timedelta(minutes=480)}
# Things that happen in one transaction still get distinct, ordered timestamps.
TICK = timedelta(milliseconds=1)

# --- The cast ---------------------------------------------------------------------------

TEAMS = (
    ("Sales East", "Europe/Berlin", Team.Visibility.PRIVATE),
    ("Sales West", "America/New_York", Team.Visibility.SHARED),
)
# username, first name, last name, role, team, away
CAST: tuple[tuple[str, str, str, Role, str | None, bool], ...] = (
    ("admin", "Alex", "Morgan", Role.ADMIN, None, False),
    ("marketer1", "Maya", "Lindqvist", Role.MARKETER, None, False),
    ("marketer2", "Tom", "Okafor", Role.MARKETER, None, False),
    ("manager1", "Katrin", "Vogel", Role.MANAGER, "Sales East", False),
    ("manager2", "Marcus", "Reed", Role.MANAGER, "Sales West", False),
    ("rep1", "Jonas", "Becker", Role.REP, "Sales East", False),
    ("rep2", "Sofia", "Marino", Role.REP, "Sales East", False),
    ("rep3", "Lena", "Hartmann", Role.REP, "Sales East", False),
    ("rep4", "Ethan", "Brooks", Role.REP, "Sales West", False),
    ("rep5", "Priya", "Nair", Role.REP, "Sales West", False),
    ("rep6", "Carlos", "Mendes", Role.REP, "Sales West", True),
)


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


CAMPAIGNS = (
    _CampaignSpec(
        name="Google Ads: lead handoff software",
        channel=Channel.PAID_SEARCH,
        utm=("google", "cpc", "handoff-software"),
        spend=(24000, 19850),
        days_ago=(150, None),
        owner="marketer1",
        weight=3,
        form="Request a demo",
        page="/demo",
        fast_track=True,
        referrer="https://www.google.com/",
        variants=("lead handoff software", "mql to sql", "lead routing tool", "sales sla"),
    ),
    _CampaignSpec(
        name="LinkedIn: RevOps leaders",
        channel=Channel.PAID_SOCIAL,
        utm=("linkedin", "paid_social", "revops-leaders"),
        spend=(30000, 26400),
        days_ago=(140, None),
        owner="marketer1",
        weight=18,
        form="Download: the SLA template",
        page="/lp/sla-template",
        referrer="https://www.linkedin.com/",
        variants=("carousel-a", "video-b", "single-image-c"),
    ),
    _CampaignSpec(
        name="Newsletter: The Handoff",
        channel=Channel.EMAIL,
        utm=("newsletter", "email", "the-handoff"),
        spend=(2000, 1400),
        days_ago=(150, None),
        owner="marketer2",
        weight=8,
        form="Newsletter sign-up",
        page="/newsletter",
    ),
    _CampaignSpec(
        name="Webinar: Fixing the MQL-to-SQL leak",
        channel=Channel.WEBINAR,
        utm=("webinar", "email", "mql-sql-leak"),
        spend=(8000, 7200),
        days_ago=(110, 20),
        owner="marketer2",
        weight=14,
        form="Webinar registration",
        page="/webinars/mql-sql-leak",
    ),
    _CampaignSpec(
        name="SaaStr Europa booth",
        channel=Channel.EVENT,
        utm=("saastr", "event", "saastr-europa"),
        spend=(45000, 43800),
        days_ago=(80, 50),
        owner="marketer2",
        weight=30,
        form="Booth follow-up",
        page="/events/saastr",
    ),
    _CampaignSpec(
        name="Guide: The lead handoff playbook",
        channel=Channel.CONTENT,
        utm=("blog", "content", "handoff-playbook"),
        spend=(6000, 4100),
        days_ago=(130, None),
        owner="marketer1",
        weight=20,
        form="Download the playbook",
        page="/guides/handoff-playbook",
        referrer="https://www.google.com/",
    ),
    _CampaignSpec(
        name="Website (organic)",
        channel=Channel.ORGANIC,
        utm=("google", "organic", ""),
        spend=(0, 0),
        days_ago=(150, None),
        owner="marketer1",
        weight=2,
        form="Contact sales",
        page="/contact-sales",
        fast_track=True,
        referrer="https://www.google.com/",
    ),
    _CampaignSpec(
        name="Partner referrals",
        channel=Channel.REFERRAL,
        utm=("partner", "referral", "partner-program"),
        spend=(10000, 6500),
        days_ago=(120, None),
        owner="marketer2",
        weight=2,
        form="Talk to sales (partners)",
        page="/partners/referral",
        fast_track=True,
        referrer="https://partners.example.com/",
    ),
)
CONSENT = "I agree that LeadFlow may contact me about its products. I can withdraw at any time."

# --- People and companies ---------------------------------------------------------------

# code: (weight, language, domain suffix, legal forms)
COUNTRIES: dict[str, tuple[int, str, str, tuple[str, ...]]] = {
    "US": (28, "en", ".com", ("Inc.", "LLC", "")),
    "GB": (10, "en", ".co.uk", ("Ltd", "")),
    "DE": (10, "de", ".de", ("GmbH", "AG")),
    "FR": (6, "fr", ".fr", ("SAS", "SA")),
    "NL": (4, "nl", ".nl", ("B.V.",)),
    "SE": (3, "sv", ".se", ("AB",)),
    "CA": (5, "en", ".ca", ("Inc.", "")),
    "AU": (4, "en", ".com.au", ("Pty Ltd",)),
    "IN": (6, "in", ".in", ("Pvt Ltd",)),
    "BR": (4, "pt", ".com.br", ("Ltda",)),
    "ES": (4, "es", ".es", ("S.L.",)),
    "IT": (3, "it", ".it", ("S.r.l.",)),
    "PL": (3, "pl", ".pl", ("sp. z o.o.",)),
    "JP": (2, "ja", ".co.jp", ("K.K.",)),
    "SG": (2, "en", ".sg", ("Pte Ltd",)),
    "MX": (2, "es", ".mx", ("S.A. de C.V.",)),
    "ZA": (2, "en", ".co.za", ("(Pty) Ltd",)),
    "IE": (2, "en", ".ie", ("Ltd",)),
}
NAMES: dict[str, tuple[str, str]] = {  # language: (first names, last names)
    "en": (
        "James Emily Michael Sarah David Jessica Daniel Olivia Chris Hannah Ryan Megan "
        "Andrew Laura Tom Rachel Kevin Sophie Brian Grace",
        "Smith Johnson Brown Taylor Miller Wilson Davis Clark Lewis Walker Hall Young King "
        "Wright Green Baker Carter Mitchell Turner Parker",
    ),
    "de": (
        "Lukas Anna Jonas Lea Felix Marie Maximilian Laura Jan Sophie Tobias Katharina "
        "Florian Julia Stefan",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
        "Richter Klein Wolf Schröder",
    ),
    "fr": (
        "Camille Louis Léa Hugo Manon Thomas Chloé Nicolas Julie Antoine Inès Mathieu",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Lefèvre Girard",
    ),
    "nl": (
        "Daan Emma Sem Julia Lucas Sanne Bram Fleur Thijs Anouk",
        "de_Jong Jansen de_Vries van_den_Berg Bakker Visser Smit Meijer de_Boer Mulder",
    ),
    "sv": (
        "Erik Elsa Oskar Maja Lars Ingrid Johan Astrid Nils Linnea",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindberg",
    ),
    "es": (
        "Alejandro Lucía Javier María Pablo Carmen Diego Sofía Carlos Elena",
        "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Ruiz",
    ),
    "pt": (
        "João Ana Pedro Beatriz Lucas Mariana Rafael Camila Gabriel Larissa",
        "Silva Santos Oliveira Souza Lima Pereira Costa Almeida Ferreira Rodrigues",
    ),
    "it": (
        "Marco Giulia Luca Chiara Matteo Francesca Alessandro Sara Davide Martina",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco",
    ),
    "pl": (
        "Jakub Zuzanna Piotr Aleksandra Kacper Natalia Michał Magdalena Tomasz Karolina",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
        "Woźniak",
    ),
    "in": (
        "Aarav Priya Rohan Ananya Vikram Diya Arjun Kavya Rahul Neha",
        "Sharma Patel Gupta Singh Kumar Reddy Iyer Nair Mehta Joshi",
    ),
    "ja": (
        "Haruto Yui Sota Aoi Ren Hina Yuto Sakura Kenji Yuki",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato",
    ),
}
STEMS = (
    "Atlas Arcadia Beacon Bluefin Bramble Brightpath Cascade Cobalt Copperleaf Crescent Delta "
    "Driftwood Ember Evergreen Falcon Fjord Granite Harbor Helix Indigo Ironbridge Juniper "
    "Kestrel Keystone Lighthouse Lumen Maple Meridian Mosaic Nimbus Northwind Nova Oakridge "
    "Orbit Pinnacle Polaris Quartz Redwood Riverstone Saffron Sierra Silverline Solstice Summit "
    "Tandem Tidewater Trellis Vertex Willow Zenith"
)
CORES = (
    "Analytics Logistics Systems Health Labs Robotics Foods Energy Capital Media Software Retail "
    "Insurance Cloud Motors Biotech Security Payments Learning Travel Manufacturing Consulting "
    "Networks Pharma Apparel Realty Telecom Games Data Freight"
)
# (smallest, largest, weight) employees
COMPANY_SIZES = (
    (2, 10, 8),
    (11, 50, 18),
    (51, 200, 24),
    (201, 1000, 24),
    (1001, 5000, 16),
    (5001, 60000, 10),
)
JOB_TITLES = (
    ("Chief Revenue Officer", 2),
    ("CEO", 2),
    ("CTO", 1),
    ("COO", 1),
    ("Founder", 2),
    ("VP of Sales", 4),
    ("VP Marketing", 4),
    ("Vice President, Revenue Operations", 2),
    ("Head of Growth", 4),
    ("Head of Sales Development", 3),
    ("Head of Marketing", 3),
    ("Director of Demand Generation", 4),
    ("Sales Director", 4),
    ("Marketing Director", 3),
    ("Director, Revenue Operations", 3),
    ("Marketing Manager", 8),
    ("Sales Manager", 7),
    ("RevOps Manager", 5),
    ("Demand Generation Manager", 5),
    ("Account Executive", 6),
    ("Sales Development Representative", 6),
    ("Marketing Specialist", 5),
    ("Marketing Operations Specialist", 4),
    ("Software Engineer", 5),
    ("Data Analyst", 4),
    ("Product Manager", 4),
    ("Operations Manager", 4),
    ("Consultant", 3),
    ("Student", 2),
    ("", 3),
)
FREEMAIL_BY_COUNTRY = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"),
    "CA": ("gmail.com", "outlook.com", "yahoo.com"),
    "GB": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "outlook.com"),
}
FREEMAIL_ELSEWHERE = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
SITE_PAGES = (
    "/",
    "/product",
    "/product/routing",
    "/product/sla",
    "/customers",
    "/blog",
    "/blog/speed-to-lead",
    "/blog/lead-scoring-101",
    "/integrations",
)

# --- Touchpoints, scores and the sales side ---------------------------------------------

K = Touchpoint.Kind
# Later touchpoints by kind: (weight for the least interested lead, extra for the keenest).
LATER_TOUCHES = (
    (K.PAGE_VIEW, 34, -18),
    (K.PRICING_VIEW, 8, 26),
    (K.EMAIL_CLICK, 24, 0),
    (K.WEBINAR, 6, 14),
    (K.FORM_SUBMIT, 10, 10),
    (K.DEMO_REQUEST, 1, 2),
)
NO_HANDOFF_SHARE = 0.08  # MQLs still with marketing
POOL_SHARE = 0.06  # handoffs that found no rep and waited in the team pool
# In the last two days (a sales offsite) far more did, so the demo opens with work waiting
# in the pools.
POOL_SHARE_LATELY = 0.3
DISQUALIFY_SHARE = 0.02
DISQUALIFY_REASONS = ("spam", "competitor", "not a person")
R = RejectReason
REJECT_AT_ONCE = (
    (R.NOT_A_FIT, 30),
    (R.BAD_CONTACT, 15),
    (R.DUPLICATE, 8),
    (R.CUSTOMER, 6),
    (R.COMPETITOR, 5),
    (R.SPAM, 6),
    (R.NO_BUDGET, 10),
    (R.BAD_TIMING, 10),
)
REJECT_AFTER_TALKING = (
    (R.NO_BUDGET, 35),
    (R.BAD_TIMING, 35),
    (R.NOT_A_FIT, 20),
    (R.CUSTOMER, 5),
    (R.DUPLICATE, 5),
)
REJECT_NOTES: dict[str, tuple[str, ...]] = {
    R.NOT_A_FIT: (
        "Two-person agency, far below our minimum.",
        "Student project.",
        "Needs a ticketing tool, not a CRM.",
    ),
    R.BAD_CONTACT: ("Number disconnected and the email bounced.", "Fake name on the form."),
    R.DUPLICATE: ("Same person as an open deal under another address.",),
    R.CUSTOMER: ("Already on the Business plan; passed to account management.",),
    R.COMPETITOR: ("Works for a competitor; researching us.",),
    R.SPAM: ("Keyboard mash in every field.",),
    R.NO_BUDGET: ("Budget frozen until next fiscal year.", "Interested, but no budget owner."),
    R.BAD_TIMING: ("Mid-migration to a new CRM; call back in Q3.", "Re-org under way."),
}
FIRST_TOUCH_OUTCOMES = {
    Touch.Kind.CALL: (
        "Connected, booked a discovery call",
        "Left a voicemail",
        "No answer",
        "Connected, asked for an email",
    ),
    Touch.Kind.EMAIL: ("Sent intro email", "Sent the case study", "Replied to the demo request"),
}
DEAL_TOUCHES = (
    (Touch.Kind.MEETING, "Discovery call held"),
    (Touch.Kind.MEETING, "Demo for the team"),
    (Touch.Kind.EMAIL, "Sent the proposal"),
    (Touch.Kind.CALL, "Pricing questions answered"),
    (Touch.Kind.NOTE, "Champion is the VP Sales; procurement involved"),
    (Touch.Kind.CALL, "Follow-up on security review"),
)
# Labels of the won and lost reason lists (sales migration 0003 seeds them).
LOST_REASONS = (
    "Chose a competitor",
    "No budget",
    "No decision, went dark",
    "Price too high",
    "Bad timing",
    "Missing a feature or integration",
)
WON_REASONS = ("Best fit for their needs", "Price and terms", "Relationship and trust")
PLANS = ((15000, "Starter"), (40000, "Growth"), (90000, "Business"), (10**9, "Enterprise"))


def _words(text: str) -> list[str]:
    return [word.replace("_", " ") for word in text.split()]


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


# --- Rows being built -------------------------------------------------------------------


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


class _Ids:
    """Ids from a table's own sequence, drawn in blocks; unused ones are ordinary gaps."""

    def __init__(self, cursor: CursorWrapper, model: type[models.Model]) -> None:
        self.cursor, self.table = cursor, model._meta.db_table
        self.free: list[int] = []

    def next(self) -> int:
        if not self.free:
            self.cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 1000)",
                [self.table],
            )
            self.free = sorted((row[0] for row in self.cursor.fetchall()), reverse=True)
        return self.free.pop()


def _copy(cursor: CursorWrapper, rows: Sequence[models.Model]) -> int:
    """Write unsaved instances of one model with COPY: every concrete field as it is set on
    the instance (no ``auto_now``, no ``save()``); a primary key left None is the table's
    to assign."""
    if not rows:
        return 0
    meta = rows[0]._meta
    fields = [
        f
        for f in meta.concrete_fields
        if not (f.primary_key and rows[0].pk is None) and not getattr(f, "generated", False)
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(sql.Identifier(f.column or f.attname) for f in fields),
    )
    json = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    with cursor.copy(statement) as copy:
        for row in rows:
            values = [getattr(row, f.attname) for f in fields]
            for i in json:
                values[i] = Jsonb(values[i])
            copy.write_row(values)
    return len(rows)


@transaction.atomic
def seed_demo(*, leads: int = DEMO_LEADS, now: datetime | None = None) -> dict[str, int] | None:
    """Load the demo data set unless the demo admin exists (then return None).

    Returns the number of rows written, by kind. The same ``now`` gives the same data: the
    random generator is seeded with ``SEED``.
    """
    if User.objects.filter(username=ADMIN_USERNAME).exists():
        return None
    with connection.cursor() as cursor:
        counts = _Demo(cursor, random.Random(SEED), now or timezone.now()).build(leads)
    counts["targets"] = _targets(now or timezone.now())
    counts["sla_clocks"] = _open_clocks(now or timezone.now())
    # The dashboard reads rollups: build them now rather than at beat's first tick.
    rollups.rollups_refresh(now=now)
    # The story scored engagement without decay; the worker decays it to today.
    scoring.decay_start()
    return counts


# The clocks of the handoffs still open, at their story's deadlines, so that beat warns and
# breaches them live. Those already past due are recorded as missed, breach included, with
# no notification: they are history, not news, on a demo's first start.
_OPEN_CLOCKS_SQL = """
WITH clocks AS (
    SELECT h.id AS handoff_id, k.kind, h.assigned_to_id AS rep_id, k.due_at,
        k.due_at - make_interval(mins => COALESCE(p.warn_minutes, %(default_warn)s)) AS warn_at,
        h.team_id
    FROM handoff_handoff AS h
    LEFT JOIN handoff_slapolicy AS p ON p.tier = h.sla_tier
    CROSS JOIN LATERAL (VALUES ('accept', h.accept_due_at), ('touch', h.touch_due_at))
        AS k(kind, due_at)
    WHERE h.status IN ('pending', 'accepted') AND k.due_at IS NOT NULL
        AND (k.kind = 'accept' AND h.status = 'pending'
             OR k.kind = 'touch' AND h.first_touch_at IS NULL)
), made AS (
    INSERT INTO handoff_sladeadline
        (handoff_id, kind, rep_id, due_at, warn_at, warned_at, state, closed_at, created_at)
    SELECT handoff_id, kind, rep_id, due_at, warn_at,
        CASE WHEN warn_at <= %(now)s THEN LEAST(warn_at, %(now)s) END,
        CASE WHEN due_at <= %(now)s THEN 'breached' ELSE 'open' END,
        CASE WHEN due_at <= %(now)s THEN due_at END, %(now)s
    FROM clocks
    RETURNING id, handoff_id, kind, rep_id, due_at, state
), breaches AS (
    INSERT INTO handoff_slabreach
        (deadline_id, handoff_id, kind, team_id, rep_id, due_at, breached_at, rerouted_to_id)
    SELECT m.id, m.handoff_id, m.kind, h.team_id, m.rep_id, m.due_at,
        m.due_at + interval '1 minute', NULL
    FROM made AS m JOIN handoff_handoff AS h ON h.id = m.handoff_id
    WHERE m.state = 'breached'
)
SELECT count(*) FROM made
"""


def _open_clocks(now: datetime) -> int:
    from handoff.sla import DEFAULT_POLICIES

    default_warn = DEFAULT_POLICIES[SlaTier.STANDARD].warn_minutes
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_CLOCKS_SQL, {"now": now, "default_warn": default_warn})
        return int(cursor.fetchone()[0])


# This month's targets (the measure, for everybody, then per team by name): a little
# above the demo's pace, so the dashboard shows some ahead and some behind.
TARGETS: tuple[tuple[str, int, dict[str, int]], ...] = (
    (KpiTarget.Metric.MQLS, 350, {}),
    (KpiTarget.Metric.SQLS, 330, {"Sales East": 240, "Sales West": 100}),
    (KpiTarget.Metric.PIPELINE, 5_000_000, {"Sales East": 3_500_000, "Sales West": 1_500_000}),
    (KpiTarget.Metric.WON, 1_200_000, {"Sales East": 850_000, "Sales West": 350_000}),
)


def _targets(now: datetime) -> int:
    month = now.date().replace(day=1)
    admin = User.objects.get(username=ADMIN_USERNAME)
    teams = dict(Team.objects.values_list("name", "pk"))
    rows = [
        KpiTarget(month=month, team_id=team, metric=metric, value=value, set_by=admin)
        for metric, total, per_team in TARGETS
        for team, value in [(None, total), *((teams[n], v) for n, v in per_team.items())]
    ]
    return len(KpiTarget.objects.bulk_create(rows))


def _fit_matches(rule: ScoringRule, lead: Lead) -> bool:
    """The demo's rules (migration 0002) judged in memory, as their compiled SQL judges
    them, for leads not written yet."""
    value = getattr(lead, rule.field, None) if rule.field else None
    if rule.operator == ScoringRule.Operator.FREEMAIL:
        return email_domain(lead.email) in FREEMAIL_DOMAINS
    if value in (None, ""):
        return False
    if rule.operator == ScoringRule.Operator.GTE:
        return float(value) >= float(rule.value)
    if rule.operator == ScoringRule.Operator.IN:
        return str(value).strip().lower() in {v.strip().lower() for v in rule.value.split(",")}
    return re.search(rule.value, str(value), re.IGNORECASE) is not None


def _rule_matches(rule: QualificationRule, lead: Lead) -> bool:
    """The demo's qualification rules (fast track, grade, engagement) judged in memory."""
    if rule.fast_track_only and not lead.fast_tracked:
        return False
    if rule.max_grade and not marketing.grade_at_least(lead.grade, rule.max_grade):
        return False
    return lead.engagement_score >= rule.min_engagement


class _Demo:
    """Tells the story in memory, then writes it: marketing lead by lead up to each lead's
    MQL moment, then sales working the MQLs in the order they arrived, so round-robin turns
    follow the clock."""

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

    def build(self, lead_count: int) -> dict[str, int]:
        self._cast()
        self._campaigns()
        self._rules()
        self.companies = self._make_companies(lead_count * 2 // 7)
        mqls = [
            lead for lead in map(self._lead, self._creation_times(lead_count)) if lead.model.mql_at
        ]
        for lead in sorted(mqls, key=lambda lead: lead.model.mql_at or self.now):
            self._sales(lead)
        TeamRouting.objects.bulk_create(
            TeamRouting(team_id=team_id, last_rep=rep) for team_id, rep in self.last_rep.items()
        )
        return self._write()

    # --- Setup (through the ORM and the services: a handful of rows) --------------------

    def _cast(self) -> None:
        teams = [
            Team.objects.create(name=name, timezone=tz, visibility=visibility)
            for name, tz, visibility in TEAMS
        ]
        self.teams = {team.name: team for team in teams}
        joined = self.now - timedelta(days=DAYS + 30)
        Team.objects.filter(pk__in=[team.pk for team in teams]).update(created_at=joined)
        password = make_password(PASSWORD)  # slow on purpose: once for everybody
        users = User.objects.bulk_create(
            User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}@leadflow.example".lower(),
                password=password,
                role=role,
                team=self.teams[team] if team else None,
                timezone=self.teams[team].timezone if team else "",
                is_away=away,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
                date_joined=joined,
            )
            for username, first, last, role, team, away in CAST
        )
        self.users = {user.username: user for user in users}
        self.reps = {
            team.pk: [u for u in users if u.role == Role.REP and u.team_id == team.pk]
            for team in teams
        }
        self.away_since = self.now - AWAY_FOR

    def _campaigns(self) -> None:
        self.campaigns: list[_Campaign] = []
        today, tz = self.now.date(), self.now.tzinfo
        for spec in CAMPAIGNS:
            owner = self.users[spec.owner]
            starts_ago, ends_ago = spec.days_ago
            starts_on = today - timedelta(days=starts_ago)
            ends_on = None if ends_ago is None else today - timedelta(days=ends_ago)
            campaign = marketing.campaign_create(
                owner=owner,
                name=spec.name,
                channel=spec.channel,
                utm_source=spec.utm[0],
                utm_medium=spec.utm[1],
                utm_campaign=spec.utm[2],
                budget=Decimal(spec.spend[0]),
                cost=Decimal(spec.spend[1]),
                starts_on=starts_on,
                ends_on=ends_on,
            )
            form = marketing.form_create(
                created_by=owner,
                campaign=campaign,
                name=spec.form,
                consent_text=CONSENT,
                fast_track=spec.fast_track,
            )
            starts = datetime.combine(starts_on, time(8), tzinfo=tz)
            ends = None if ends_on is None else datetime.combine(ends_on, time(18), tzinfo=tz)
            self.campaigns.append(_Campaign(spec, campaign.pk, form.pk, form.name, starts, ends))
        self.organic = next(c for c in self.campaigns if c.spec.channel == Channel.ORGANIC)
        # Campaigns were set up a week before they started, their forms the same day.
        self.cursor.execute(
            """
            UPDATE marketing_campaign
            SET created_at = ((starts_on - 7) + time '09:30') AT TIME ZONE 'UTC'
            WHERE id = ANY(%(ids)s);
            UPDATE marketing_form f SET created_at = c.created_at + interval '2 hours'
            FROM marketing_campaign c WHERE c.id = f.campaign_id AND c.id = ANY(%(ids)s);
            """,
            {"ids": [campaign.id for campaign in self.campaigns]},
        )

    def _rules(self) -> None:
        east, west = self.teams["Sales East"], self.teams["Sales West"]
        self.qualification = QualificationRule.objects.bulk_create(
            [
                QualificationRule(
                    name="Hot: demo requests",
                    position=0,
                    fast_track_only=True,
                    sla_tier=SlaTier.HOT,
                    team=east,
                ),
                # A-grade MQLs go to East first; the rest of the engaged B+ go West.
                QualificationRule(
                    name="Standard: grade A",
                    position=1,
                    max_grade="A",
                    min_engagement=30,
                    sla_tier=SlaTier.STANDARD,
                    team=east,
                ),
                QualificationRule(
                    name="Standard: grade B+ engaged",
                    position=2,
                    max_grade="B",
                    min_engagement=50,
                    sla_tier=SlaTier.STANDARD,
                    team=west,
                ),
            ]
        )
        # The scoring rules are what the database holds (migration 0002's unless someone
        # changed them), so the ledger agrees with what scoring would write.
        rules = list(ScoringRule.objects.filter(is_active=True))
        self.fit_rules = [rule for rule in rules if rule.axis == ScoringRule.Axis.FIT]
        self.engagement_rules = {
            rule.value: rule for rule in rules if rule.axis == ScoringRule.Axis.ENGAGEMENT
        }
        pipeline = sales_selectors.default_pipeline(team=None)
        assert pipeline is not None, "sales migration 0002 creates the default pipeline"
        stages = list(pipeline.stages.order_by("position"))
        self.pipeline = pipeline
        self.open_stages = [s for s in stages if s.outcome == PipelineStage.Outcome.OPEN]
        self.won = next(s for s in stages if s.outcome == PipelineStage.Outcome.WON)
        self.lost = next(s for s in stages if s.outcome == PipelineStage.Outcome.LOST)

    # --- Helpers ------------------------------------------------------------------------

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

    # --- Marketing ----------------------------------------------------------------------

    def _make_companies(self, count: int) -> list[_Company]:
        names = [(stem, core) for stem in _words(STEMS) for core in _words(CORES)]
        companies = []
        for stem, core in self.rng.sample(names, max(20, min(len(names), count))):
            country = self._pick([(code, spec[0]) for code, spec in COUNTRIES.items()])
            _, _, suffix, legal = COUNTRIES[country]
            low, high = self._pick([((lo, hi), w) for lo, hi, w in COMPANY_SIZES])
            companies.append(
                _Company(
                    name=f"{stem} {core} {self.rng.choice(legal)}".strip(),
                    domain=f"{stem}{core}".lower() + suffix,
                    country=country,
                    size=None if self.rng.random() < 0.07 else self.rng.randint(low, high),
                )
            )
        return companies

    def _creation_times(self, count: int) -> list[datetime]:
        """Spread over the last DAYS days, a little busier lately and quieter at weekends."""
        times: list[datetime] = []
        while len(times) < count:
            at = self.now - timedelta(days=DAYS * self.rng.random() ** 1.25, minutes=3)
            if at.weekday() < 5 or self.rng.random() < 0.4:
                times.append(at)
        return sorted(times)  # ids follow time, as they would have

    def _email(self, first: str, last: str, domain: str, freemail: bool) -> str:
        first, last = _ascii(first), _ascii(last)
        number = self.rng.randint(1, 99)
        patterns = (
            (f"{first}.{last}", f"{first}{last}{number}", f"{first[0]}{last}{number}")
            if freemail
            else (f"{first}.{last}", f"{first[0]}{last}", first)
        )
        local = self.rng.choice(patterns)
        email, n = f"{local}@{domain}", 1
        while email in self.emails:  # the unique constraint is on the normalised email
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _phone(self, country: str) -> str:
        if country not in self.phone_examples:
            example = phonenumbers.example_number_for_type(
                country, phonenumbers.PhoneNumberType.MOBILE
            ) or phonenumbers.example_number(country)
            assert example is not None
            assert example.country_code
            self.phone_examples[country] = (example.country_code, str(example.national_number))
        code, national = self.phone_examples[country]
        digits = national[:-5] + f"{self.rng.randrange(10**5):05d}"
        return marketing.normalize_phone(f"+{code}{digits}")

    def _running(
        self, at: datetime, *, channel: str = "", fast_track: bool | None = None
    ) -> list[_Campaign]:
        return [
            c
            for c in self.campaigns
            if c.running(at)
            and (not channel or c.spec.channel == channel)
            and (fast_track is None or c.spec.fast_track == fast_track)
        ]

    def _touchpoint(
        self,
        lead: Lead,
        kind: str,
        at: datetime,
        campaign: _Campaign,
        *,
        form: bool = False,
        page: str | None = None,
    ) -> Touchpoint:
        """``page``: the landing page; None for the campaign's, "" for none (imports)."""
        spec = campaign.spec
        variant = self.rng.choice(spec.variants) if spec.variants else ""
        search = spec.channel == Channel.PAID_SEARCH
        page = spec.page if page is None else page
        return Touchpoint(
            id=self.ids[Touchpoint].next(),
            lead_id=lead.pk,
            kind=kind,
            campaign_id=campaign.id,
            form_id=campaign.form_id if form else None,
            utm_source=spec.utm[0],
            utm_medium=spec.utm[1],
            utm_campaign=spec.utm[2],
            utm_term=variant if search else "",
            utm_content="" if search else variant,
            referrer=spec.referrer if page else "",
            landing_page=SITE + page if page else "",
            created_at=at,
        )

    def _touches(self, lead: Lead, first: _Campaign) -> list[Touchpoint]:
        """The lead's touchpoints, oldest first: the capture, then whatever followed."""
        rng, created = self.rng, lead.created_at + TICK * 5  # same transaction as the lead
        if first.spec.channel == Channel.EVENT and rng.random() < 0.8:
            touches = [self._touchpoint(lead, K.IMPORT, created, first, page="")]
        else:
            kind = K.DEMO_REQUEST if first.spec.fast_track else K.FORM_SUBMIT
            touches = [self._touchpoint(lead, kind, created, first, form=True)]
        # Interest decides how often a person comes back and what they look at.
        interest = rng.random()
        weights = [(kind, low + extra * interest) for kind, low, extra in LATER_TOUCHES]
        at = created
        for n in range(1, min(6, 1 + int(rng.random() * (2.5 + 6 * interest)))):
            if rng.random() < 0.35:
                at += timedelta(minutes=rng.uniform(1, 25))  # the same visit
            else:
                at += timedelta(days=rng.expovariate(1 / 5))
            if at > self.now - timedelta(minutes=1):
                break
            kind = self._pick(weights)
            if n == 1 and first.spec.channel == Channel.WEBINAR and rng.random() < 0.7:
                kind = K.WEBINAR  # registered, then attended
            touches.append(self._later_touch(lead, kind, at, first))
        return touches

    def _later_touch(self, lead: Lead, kind: str, at: datetime, first: _Campaign) -> Touchpoint:
        rng = self.rng
        if kind in (K.FORM_SUBMIT, K.DEMO_REQUEST):
            forms = self._running(at, fast_track=kind == K.DEMO_REQUEST)
            if forms:
                return self._touchpoint(lead, kind, at, rng.choice(forms), form=True)
            kind = K.PAGE_VIEW
        if kind == K.WEBINAR:
            webinars = self._running(at, channel=Channel.WEBINAR)
            if webinars:
                return self._touchpoint(lead, kind, at, webinars[0])
            kind = K.EMAIL_CLICK
        if kind == K.EMAIL_CLICK:
            mailings = self._running(at, channel=Channel.EMAIL)
            mailings += self._running(at, channel=Channel.WEBINAR)
            page = rng.choice(SITE_PAGES[5:])
            return self._touchpoint(lead, kind, at, rng.choice(mailings or [first]), page=page)
        campaign = first if first.running(at) and rng.random() < 0.5 else self.organic
        page = "/pricing" if kind == K.PRICING_VIEW else rng.choice(SITE_PAGES)
        return self._touchpoint(lead, kind, at, campaign, page=page)

    def _lead(self, created: datetime) -> _Lead:
        rng = self.rng
        company = rng.choice(self.companies)
        country = company.country
        if rng.random() < 0.1:  # works abroad
            country = self._pick([(code, spec[0]) for code, spec in COUNTRIES.items()])
        firsts, lasts = NAMES[COUNTRIES[country][1]]
        first, last = rng.choice(_words(firsts)), rng.choice(_words(lasts))
        freemail = rng.random() < 0.2
        domain = company.domain
        if freemail:
            domain = rng.choice(FREEMAIL_BY_COUNTRY.get(country, FREEMAIL_ELSEWHERE))
        running = self._running(created) or self.campaigns
        campaign = self._pick([(c, c.spec.weight) for c in running])
        m = Lead(
            id=self.ids[Lead].next(),
            email=self._email(first, last, domain, freemail),
            phone=self._phone(country) if rng.random() < 0.45 else "",
            first_name=first,
            last_name=last,
            company=company.name,
            job_title=self._pick(JOB_TITLES),
            company_size=company.size,
            country=country,
            campaign_id=campaign.id,
            source=campaign.spec.utm[0] or campaign.spec.channel,  # as capture does
            created_at=created,
            updated_at=created,
        )
        lead = _Lead(m, company, campaign)
        lead.touches = self._touches(m, campaign)
        self.leads.append(lead)
        if lead.touches[0].kind == K.IMPORT:
            owner = self.users[campaign.spec.owner]
            rule = f"import: {campaign.spec.name} scans"
            self._event(
                (marketing.LEAD, m.pk),
                Event.Kind.CREATED,
                created,
                owner,
                rule=rule,
                new=Stage.LEAD,
            )
        else:
            rule = f"form: {campaign.form_name}"
            self._event(
                (marketing.LEAD, m.pk), Event.Kind.CREATED, created, rule=rule, new=Stage.LEAD
            )

        disqualified = None
        if rng.random() < DISQUALIFY_SHARE:
            disqualified = created + timedelta(hours=rng.uniform(1, 150))
        until = min(disqualified or self.now, self.now)
        while lead.scored < len(lead.touches) and lead.touches[lead.scored].created_at < until:
            if self._score_next(lead):
                return lead  # an MQL: sales takes it from here (see _sales)
        if disqualified and disqualified <= self.now:
            marketer = self.users[rng.choice(("marketer1", "marketer2"))]
            reason = rng.choice(DISQUALIFY_REASONS)
            self._lead_stage(lead, Stage.DISQUALIFIED, disqualified, marketer, reason=reason)
            del lead.touches[lead.scored :]  # nothing of what it did next is kept
        return lead

    def _score_next(self, lead: _Lead, *, qualify: bool = True) -> bool:
        """Score the lead's next touchpoint as ``marketing.services.lead_score`` does; True
        when the lead just became an MQL. ``qualify=False`` once sales has the lead, whose
        stage the simulation has then already moved on."""
        m, touch = lead.model, lead.touches[lead.scored]
        lead.scored += 1
        at = touch.created_at + timedelta(seconds=self.rng.uniform(1, 30))  # the worker
        old = (m.fit_score, m.engagement_score, m.grade)
        if touch.kind == K.DEMO_REQUEST:
            m.fast_tracked = True  # capture sets it, before scoring
        if lead.scored == 1:  # fit depends on the fields only: all of it at the first run
            for rule in self.fit_rules:
                if _fit_matches(rule, m):
                    lead.entries.append(self._entry(m, rule, None, at))
                    m.fit_score += rule.points
        activity = self.engagement_rules.get(touch.kind)
        if activity is not None:
            lead.entries.append(self._entry(m, activity, touch, at))
            m.engagement_score += activity.points
        m.grade = scoring.grade_for(m.fit_score)
        new = (m.fit_score, m.engagement_score, m.grade)
        if new != old:
            self._event(
                (marketing.LEAD, m.pk),
                Event.Kind.SCORE,
                at,
                rule="scoring",
                old=f"{old[2]} {old[0]}/{old[1]}",
                new=f"{new[2]} {new[0]}/{new[1]}",
            )
        m.scored_at = m.updated_at = at
        minimum = settings.LEADFLOW_MQL_MIN_ENGAGEMENT
        qualifies = m.fast_tracked or (
            marketing.grade_at_least(m.grade, settings.LEADFLOW_MQL_MIN_GRADE)
            and m.engagement_score >= minimum
        )
        if not (qualify and qualifies and m.stage in marketing.QUALIFIABLE):
            return False
        reason = (
            "fast track"
            if m.fast_tracked
            else f"grade {m.grade}, engagement {m.engagement_score} ≥ {minimum}"
        )
        m.mql_at = at + TICK
        self._lead_stage(lead, Stage.MQL, m.mql_at, rule="scoring: MQL thresholds", reason=reason)
        return True

    def _entry(
        self, lead: Lead, rule: ScoringRule, touch: Touchpoint | None, at: datetime
    ) -> ScoreEntry:
        return ScoreEntry(
            lead_id=lead.pk,
            rule=rule,
            touchpoint_id=touch.pk if touch else None,
            occurred_at=touch.created_at if touch else None,
            axis=rule.axis,
            points=rule.points,
            created_at=at,
        )

    def _score_until(self, lead: _Lead, until: datetime) -> None:
        while lead.scored < len(lead.touches) and lead.touches[lead.scored].created_at < until:
            self._score_next(lead, qualify=False)

    def _snapshot(self, lead: _Lead, at: datetime) -> dict[str, Any]:
        """The score breakdown at ``at``, shaped like ``marketing.lead_score_breakdown``."""
        per_rule: dict[ScoringRule, int] = {}
        for entry in lead.entries:
            if entry.created_at <= at:
                per_rule[entry.rule] = per_rule.get(entry.rule, 0) + entry.points
        rows = sorted(
            (rule.axis, -points, rule.name) for rule, points in per_rule.items() if points
        )
        fit = -sum(points for axis, points, _ in rows if axis == ScoringRule.Axis.FIT)
        return {
            "fit": fit,
            "engagement": -sum(points for axis, points, _ in rows if axis != "fit"),
            "grade": scoring.grade_for(fit),
            "rules": [
                {"rule": name, "axis": axis, "points": -points} for axis, points, name in rows
            ],
        }

    # --- Handoff and sales --------------------------------------------------------------

    def _sales(self, lead: _Lead) -> None:
        """What became of an MQL: qualification, routing, the rep's answer, the deal."""
        m = lead.model
        assert m.mql_at is not None
        rule = next((r for r in self.qualification if _rule_matches(r, m)), None)
        rejected = None
        if rule is not None and self.rng.random() >= NO_HANDOFF_SHARE:
            rejected = self._hand_off(lead, rule, m.mql_at + TICK)
        # A rejected lead went back to marketing, recycled; what it did next belongs to a
        # later story (it could qualify again), so the story stops there.
        self._score_until(lead, rejected or self.now)
        del lead.touches[lead.scored :]

    def _available(self, team: Team, at: datetime) -> list[User]:
        return [rep for rep in self.reps[team.pk] if not (rep.is_away and at >= self.away_since)]

    def _next_rep(self, team: Team, after: User | None, at: datetime) -> User | None:
        """As ``handoff_route``: the next available rep by id after ``after``, wrapping."""
        reps = self._available(team, at)
        later = [rep for rep in reps if after is None or rep.pk > after.pk]
        return (later or reps)[0] if reps else None

    def _hand_off(self, lead: _Lead, rule: QualificationRule, at: datetime) -> datetime | None:
        """The handoffs of one MQL (a new one after each expiry); returns when the lead was
        rejected, if it was."""
        rng, m, team, tier = self.rng, lead.model, rule.team, SlaTier(rule.sla_tier)
        rep: User | None = None
        for attempt in range(3):
            self._score_until(lead, at)
            handoff = Handoff(
                id=self.ids[Handoff].next(),
                lead_id=m.pk,
                rule=rule,
                rule_name=rule.name,
                score_snapshot=self._snapshot(lead, at),
                sla_tier=tier,
                team=team,
                handed_off_at=at,
                accept_due_at=at + ACCEPT_WITHIN[tier],
                touch_due_at=at + TOUCH_WITHIN[tier],
            )
            self.handoffs.append(handoff)
            why = f"qualification: {rule.name}"
            subject = (HANDOFF, handoff.pk)
            self._event(subject, Event.Kind.CREATED, at, rule=why, new=Handoff.Status.PENDING)
            recent = self.now - at < timedelta(hours=48)
            if attempt == 0:
                m.sql_at = at
                reason = f"{tier.label} handoff to {team.name}"
                self._lead_stage(lead, Stage.SQL, at + TICK, rule=why, reason=reason)
                pooled = rng.random() < (POOL_SHARE_LATELY if recent else POOL_SHARE)
                rep = None if pooled else self._next_rep(team, self.last_rep.get(team.pk), at)
                if rep is not None:
                    self.last_rep[team.pk] = rep
                    self._assign(handoff, lead, rep, at + TICK * 2, "round-robin")
            else:
                rep = self._next_rep(team, rep, at)
                if rep is not None:
                    self._assign(handoff, lead, rep, at + TICK * 2, "re-routed after SLA expiry")
            if rep is None:
                handoff.routing_reason = "team pool: no rep available"
                hot = tier == SlaTier.HOT
                claimed = at + (self._minutes(6, 0.8) if hot else self._minutes(45, 0.9))
                reps = self._available(team, claimed)
                if claimed > self.now or not reps or recent:
                    return None  # still waiting in the pool
                rep = rng.choice(reps)
                self._assign(handoff, lead, rep, claimed, "claimed from the pool", actor=rep)
            expired = self._work(handoff, lead, rep, may_expire=attempt < 2)
            if expired is None:
                return handoff.rejected_at
            at = expired
        return None

    def _assign(
        self,
        handoff: Handoff,
        lead: _Lead,
        rep: User,
        at: datetime,
        reason: str,
        actor: User | None = None,
    ) -> None:
        """As ``_assign`` and ``handoff_claim``: the handoff's owner, then the lead's."""
        handoff.assigned_to, handoff.assigned_at, handoff.routing_reason = rep, at, reason
        m = lead.model
        rule = "" if actor else f"routing: {reason}"
        self._event(
            (HANDOFF, handoff.pk),
            Event.Kind.OWNER,
            at,
            actor,
            rule=rule,
            reason=reason if actor else "",
            new=rep.username,
        )
        old = m.owner.username if m.owner else ""
        rule = "" if actor else "routing"
        self._event(
            (marketing.LEAD, m.pk),
            Event.Kind.OWNER,
            at + TICK,
            actor,
            rule=rule,
            reason=reason,
            old=old,
            new=rep.username,
        )
        m.owner = rep
        m.updated_at = max(m.updated_at, at + TICK)

    def _work(
        self, handoff: Handoff, lead: _Lead, rep: User, *, may_expire: bool
    ) -> datetime | None:
        """The rep's side of one handoff. Each step happens only if its moment has come;
        returns the moment of expiry if the accept deadline passed (the caller re-routes)."""
        rng, now, subject = self.rng, self.now, (HANDOFF, handoff.pk)
        hot = handoff.sla_tier == SlaTier.HOT
        start = handoff.assigned_at or handoff.handed_off_at
        roll = rng.random()
        if now - handoff.handed_off_at < timedelta(hours=48) and rng.random() < 0.5:
            return None  # not looked at yet
        # The sweeper expires what nobody accepted in time (a late claim is only a breach).
        assert handoff.accept_due_at is not None
        if roll < 0.10 and may_expire and start < handoff.accept_due_at:
            expired = handoff.accept_due_at + timedelta(minutes=rng.uniform(1, 5))
            if expired > now:
                return None
            handoff.status = Handoff.Status.EXPIRED
            due = ACCEPT_WITHIN[SlaTier(handoff.sla_tier)].total_seconds() // 60
            self._event(
                subject,
                Event.Kind.STATUS,
                expired,
                rule="sla: accept deadline",
                reason=f"not accepted within {due:.0f} min",
                old=Handoff.Status.PENDING,
                new=Handoff.Status.EXPIRED,
            )
            return expired
        answered = start + (self._minutes(8, 0.8) if hot else self._minutes(90, 0.9))
        if answered > now:
            return None
        if roll < 0.24:  # turned down without a conversation
            self._reject(handoff, lead, rep, answered, self._pick(REJECT_AT_ONCE))
            return None
        handoff.status, handoff.accepted_at = Handoff.Status.ACCEPTED, answered
        old, new = Handoff.Status.PENDING, Handoff.Status.ACCEPTED
        self._event(subject, Event.Kind.STATUS, answered, rep, old=old, new=new)
        touched = answered + (self._minutes(20, 0.8) if hot else self._minutes(240, 0.9))
        if touched > now or (0.36 <= roll < 0.50 and rng.random() < 0.2):
            return None  # accepted, no call yet
        handoff.first_touch_at = touched
        kind = rng.choice((Touch.Kind.CALL, Touch.Kind.CALL, Touch.Kind.EMAIL))
        outcome = rng.choice(FIRST_TOUCH_OUTCOMES[kind])
        self.touches.append(
            Touch(kind=kind, outcome=outcome, actor=rep, lead_id=lead.model.pk, created_at=touched)
        )
        if roll < 0.36:  # accepted, talked, then turned down
            rejected = touched + timedelta(hours=rng.uniform(2, 190))
            if rejected <= now:
                self._reject(handoff, lead, rep, rejected, self._pick(REJECT_AFTER_TALKING))
        elif roll >= 0.50:
            converted = touched + timedelta(hours=rng.uniform(3, 290))
            if converted <= now:
                self._convert(handoff, lead, rep, converted)
        return None

    def _reject(self, handoff: Handoff, lead: _Lead, rep: User, at: datetime, reason: str) -> None:
        label = str(RejectReason(reason).label)
        handoff.status, handoff.rejected_at = Handoff.Status.REJECTED, at
        handoff.reject_reason = reason
        if self.rng.random() < 0.7:
            handoff.reject_note = self.rng.choice(REJECT_NOTES[reason])
        new = Handoff.Status.REJECTED
        self._event(
            (HANDOFF, handoff.pk), Event.Kind.STATUS, at, rep, reason=label, old="open", new=new
        )
        self._lead_stage(lead, Stage.RECYCLED, at + TICK, rep, reason=f"rejected: {label}")

    def _account(self, lead: _Lead, rep: User, at: datetime) -> Account:
        """As ``sales.account_match_or_create``: by domain (never free-mail), else by name."""
        domain = email_domain(lead.model.email)
        if domain in FREEMAIL_DOMAINS:
            domain = ""
        if domain and domain in self.accounts_by_domain:
            return self.accounts_by_domain[domain]
        account = self.accounts_by_name.get(lead.company.name.lower())
        if account is None:
            account = Account(
                id=self.ids[Account].next(),
                name=lead.company.name,
                domain=domain,
                owner=rep,
                team_id=rep.team_id,
                created_at=at,
            )
            self.accounts.append(account)
            self.accounts_by_name[account.name.lower()] = account
        elif domain and not account.domain:
            account.domain = domain
        if domain:
            self.accounts_by_domain[domain] = account
        return account

    def _convert(self, handoff: Handoff, lead: _Lead, rep: User, at: datetime) -> None:
        """As ``handoff_convert``, then the deal's road through the pipeline."""
        rng, m = self.rng, lead.model
        account = self._account(lead, rep, at)
        contact = Contact(
            id=self.ids[Contact].next(),
            account=account,
            first_name=m.first_name,
            last_name=m.last_name,
            email=m.email or "",
            phone=m.phone,
            job_title=m.job_title,
            lead_id=m.pk,
            created_at=at,
        )
        self.contacts.append(contact)
        size = lead.company.size or 50
        low, high = (5, 30) if size < 200 else (15, 80) if size < 1000 else (30, 150)
        amount = round(math.exp(rng.uniform(math.log(low), math.log(high))) * 2) * 500
        plan = next(name for limit, name in PLANS if amount < limit)
        deal = Deal(
            id=self.ids[Deal].next(),
            name=f"{account.name}: {plan}",
            account=account,
            contact=contact,
            pipeline=self.pipeline,
            stage=self.open_stages[0],
            amount=Decimal(amount),
            expected_close=(at + timedelta(days=rng.randint(25, 90))).date(),
            owner=rep,
            team_id=rep.team_id,
            lead_id=m.pk,
            source=m.source,
            campaign_name=lead.campaign.spec.name,
            created_at=at,
        )
        self.deals.append(deal)
        subject = (sales.DEAL, deal.pk)
        self._event(subject, Event.Kind.CREATED, at, rep, new=deal.stage.name)
        handoff.status, handoff.converted_at, handoff.deal = Handoff.Status.CONVERTED, at, deal
        old, new = Handoff.Status.ACCEPTED, Handoff.Status.CONVERTED
        self._event((HANDOFF, handoff.pk), Event.Kind.STATUS, at + TICK, rep, old=old, new=new)
        self._lead_stage(lead, Stage.OPPORTUNITY, at + TICK * 2, rep, reason=f"deal: {deal.name}")

        # Forward through the open stages, for some to Won or Lost, as far as time allows.
        roll, reach = rng.random(), rng.randrange(1, len(self.open_stages) + 1)
        road = [*self.open_stages[1:], self.won] if roll < 0.3 else self.open_stages[1:reach]
        if 0.3 <= roll < 0.55:
            road.append(self.lost)
        lost_reason, won_reason = rng.choice(LOST_REASONS), rng.choice(WON_REASONS)
        moved = changed = at
        for stage in road:
            moved += timedelta(hours=rng.uniform(24, 240))
            if moved > self.now:
                break
            kind, note = rng.choice(DEAL_TOUCHES)
            before = moved - timedelta(hours=rng.uniform(1, 24))
            self.touches.append(
                Touch(kind=kind, outcome=note, actor=rep, deal=deal, created_at=before)
            )
            reason = {self.lost: lost_reason, self.won: won_reason}.get(stage, "")
            self._event(
                subject,
                Event.Kind.STAGE,
                moved,
                rep,
                reason=reason,
                old=deal.stage.name,
                new=stage.name,
            )
            deal.stage, changed = stage, moved
        if deal.stage.outcome != PipelineStage.Outcome.OPEN:
            deal.closed_at = moved
        if deal.stage in (self.lost, self.won):
            deal.close_reason = lost_reason if deal.stage == self.lost else won_reason
        deal.stage_changed_at = deal.last_activity_at = changed
        if deal.stage == self.won:
            self._lead_stage(lead, Stage.CUSTOMER, moved + TICK, rep, reason=f"deal #{deal.pk} won")
        today = self.now.date()
        if deal.closed_at is None and deal.expected_close and deal.expected_close < today:
            deal.expected_close = today + timedelta(days=rng.randint(7, 40))  # pushed out

    # --- Writing ------------------------------------------------------------------------

    def _write(self) -> dict[str, int]:
        # Sorted, so event ids follow time as they would have.
        events = sorted(self.events, key=lambda event: event.created_at)
        tables: dict[str, Sequence[models.Model]] = {
            "leads": [lead.model for lead in self.leads],
            "touchpoints": [touch for lead in self.leads for touch in lead.touches],
            "score entries": [entry for lead in self.leads for entry in lead.entries],
            "accounts": self.accounts,
            "contacts": self.contacts,
            "deals": self.deals,
            "handoffs": self.handoffs,
            "sales touches": self.touches,
            "events": events,
        }
        counts = {"users": len(self.users), "teams": len(self.teams)}
        counts["campaigns"] = counts["forms"] = len(self.campaigns)
        counts |= {name: _copy(self.cursor, rows) for name, rows in tables.items()}
        counts["MQLs"] = sum(lead.model.mql_at is not None for lead in self.leads)
        for status in Handoff.Status:
            counts[f"handoffs {status}"] = sum(h.status == status for h in self.handoffs)
        for outcome in PipelineStage.Outcome:
            counts[f"deals {outcome}"] = sum(d.stage.outcome == outcome for d in self.deals)
        # Fresh planner statistics for the first dashboard after seeding.
        self.cursor.execute(
            "ANALYZE marketing_lead, marketing_touchpoint, marketing_scoreentry, "
            "handoff_handoff, sales_deal, leadflow_event"
        )
        return counts
