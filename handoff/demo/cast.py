"""The cast and the setting: the demo's constants, teams, users and campaigns, and their
setup through the ORM and the services, with the qualification rules, the scoring rules
and the pipeline the story follows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from handoff.demo.story import _Campaign, _CampaignSpec, _Story
from handoff.models import QualificationRule, SlaTier
from leadflow.models import Role, Team, User
from marketing import services as marketing
from marketing.models import Channel, ScoringRule
from sales import selectors as sales_selectors
from sales.models import PipelineStage

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


class _Cast(_Story):
    """Setup (through the ORM and the services: a handful of rows)."""

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
