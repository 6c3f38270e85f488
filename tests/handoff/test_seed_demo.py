"""The demo data set: its cast, its volumes, its inner consistency, and loading only once."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce

from handoff.demo import DEMO_LEADS, PASSWORD, seed_demo
from handoff.models import Handoff, QualificationRule, TeamRouting
from leadflow.models import Event, Role, Team, User
from marketing.models import Campaign, Form, Lead, ScoreEntry, Stage, Touchpoint
from marketing.scoring import grade_for, lead_score
from sales.models import Account, Contact, Deal, PipelineStage, Touch

SMALL = 300  # enough people for the tests that are not about volume


def test_seeding_creates_the_people_of_each_role_in_their_teams(db):
    seed_demo(leads=SMALL)

    roles = dict(User.objects.values_list("role").annotate(n=Count("id")))
    assert roles == {Role.ADMIN: 1, Role.MARKETER: 2, Role.MANAGER: 2, Role.REP: 6}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password(PASSWORD)
    members = {
        team.name: (
            team.timezone,
            team.visibility,
            set(team.members.values_list("username", flat=True)),
        )
        for team in Team.objects.all()
    }
    assert members == {
        "Sales East": ("Europe/Berlin", "private", {"rep1", "rep2", "rep3", "manager1"}),
        "Sales West": ("America/New_York", "shared", {"rep4", "rep5", "rep6", "manager2"}),
    }
    assert list(User.objects.filter(is_away=True).values_list("username", flat=True)) == ["rep6"]
    assert Campaign.objects.count() == 8
    assert Form.objects.filter(fast_track=True).exists()
    assert list(QualificationRule.objects.values_list("name", "team__name")) == [
        ("Hot: demo requests", "Sales East"),
        ("Standard: grade A", "Sales East"),
        ("Standard: grade B+ engaged", "Sales West"),
    ]
    # Every rule fires for some lead: none is shadowed by the ones before it.
    assert set(Handoff.objects.values_list("rule__name", flat=True)) == {
        "Hot: demo requests",
        "Standard: grade A",
        "Standard: grade B+ engaged",
    }


def test_seeding_creates_5000_leads_with_handoffs_in_every_status_and_closed_deals(db):
    seed_demo()

    assert Lead.objects.count() == DEMO_LEADS
    statuses = dict(Handoff.objects.values_list("status").annotate(n=Count("id")))
    assert set(statuses) == set(Handoff.Status.values)
    # Every stage of the pipeline holds deals, Won and Lost included.
    assert set(Deal.objects.values_list("stage_id", flat=True)) == set(
        PipelineStage.objects.values_list("id", flat=True)
    )
    assert not Deal.objects.filter(stage__outcome__in=["won", "lost"], close_reason="").exists()
    assert not Deal.objects.filter(stage__outcome="open", closed_at__isnull=False).exists()
    assert Deal.objects.count() == statuses[Handoff.Status.CONVERTED]
    assert not Handoff.objects.filter(status="converted", deal=None).exists()
    assert not Handoff.objects.filter(status="rejected", reject_reason="").exists()
    # Some acceptances were beyond the SLA, most within it.
    accepted = Handoff.objects.exclude(accepted_at=None)
    breached = accepted.filter(accepted_at__gt=F("accept_due_at")).count()
    assert 0 < breached < accepted.count() / 2
    assert not Lead.objects.filter(Q(scored_at=None) | Q(touchpoints=None)).exists()


def test_every_lead_score_equals_the_sum_of_its_ledger(db):
    seed_demo()

    leads = Lead.objects.annotate(
        fit=Coalesce(Sum("score_entries__points", filter=Q(score_entries__axis="fit")), 0),
        engagement=Coalesce(
            Sum("score_entries__points", filter=Q(score_entries__axis="engagement")), 0
        ),
    )
    assert leads.count() == DEMO_LEADS
    assert not leads.exclude(fit_score=F("fit"), engagement_score=F("engagement")).exists()
    for fit, grade in Lead.objects.values_list("fit_score", "grade"):
        assert grade == grade_for(fit)
    assert ScoreEntry.objects.aggregate(total=Sum("points"))["total"] == sum(
        fit + engagement
        for fit, engagement in Lead.objects.values_list("fit_score", "engagement_score")
    )


def test_recycled_leads_start_their_engagement_again_as_a_real_reject_leaves_them(db):
    seed_demo()

    recycled = Lead.objects.filter(stage=Stage.RECYCLED)
    assert recycled.count() > 10
    assert not recycled.filter(Q(engagement_reset_at=None) | Q(fast_tracked=True)).exists()
    assert not recycled.exclude(engagement_score=0).exists()
    resets = Event.objects.filter(
        subject_type="marketing.lead",
        subject_id__in=recycled.values("id"),
        kind="score",
        rule__startswith="engagement reset: rejected: ",
    )
    assert resets.filter(new_value__endswith="/0").count() == resets.count() > 0
    # The engine, scoring them now, finds nothing to correct: the demo wrote what it would.
    entries = ScoreEntry.objects.count()
    for lead in recycled.order_by("id")[:25]:
        scored = lead_score(lead_id=lead.pk)
        assert (scored.fit_score, scored.engagement_score) == (lead.fit_score, 0)
    assert ScoreEntry.objects.count() == entries


def test_each_lead_stage_matches_its_last_handoff_and_its_event_history(db):
    seed_demo()

    last_status = {}
    for lead_id, status in Handoff.objects.order_by("handed_off_at").values_list(
        "lead_id", "status"
    ):
        last_status[lead_id] = status
    expected = {
        Handoff.Status.PENDING: {Stage.SQL},
        Handoff.Status.ACCEPTED: {Stage.SQL},
        Handoff.Status.CONVERTED: {Stage.OPPORTUNITY, Stage.CUSTOMER},
        Handoff.Status.REJECTED: {Stage.RECYCLED},
    }
    for lead_id, stage in Lead.objects.filter(pk__in=last_status).values_list("id", "stage"):
        assert stage in expected[last_status[lead_id]]
    assert (
        Lead.objects.filter(stage=Stage.CUSTOMER).count()
        == Deal.objects.filter(stage__outcome="won").count()
    )
    # The event log tells the same story: one "created" per lead, stage changes that
    # chain from "lead" to the stage the lead is in now, and nothing in the future.
    created = Event.objects.filter(subject_type="marketing.lead", kind="created")
    assert created.count() == DEMO_LEADS
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chain AS (
                SELECT subject_id, old_value, new_value,
                       lag(new_value, 1, 'lead') OVER w AS previous,
                       row_number() OVER w AS n,
                       count(*) OVER (PARTITION BY subject_id) AS total
                FROM leadflow_event
                WHERE subject_type = 'marketing.lead' AND kind = 'stage'
                WINDOW w AS (PARTITION BY subject_id ORDER BY created_at, id)
            )
            SELECT
                (SELECT count(*) FROM chain WHERE old_value <> previous),
                (SELECT count(*) FROM chain c JOIN marketing_lead l ON l.id = c.subject_id
                 WHERE c.n = c.total AND c.new_value <> l.stage),
                (SELECT count(*) FROM leadflow_event WHERE created_at > now())
            """
        )
        assert cursor.fetchone() == (0, 0, 0)


def test_a_second_run_says_so_and_changes_nothing(db):
    first = StringIO()
    call_command("seed_demo", leads=SMALL, stdout=first)
    assert "Demo data loaded" in first.getvalue()
    models = (
        User, Team, Campaign, Form, QualificationRule, TeamRouting, Lead, Touchpoint,
        ScoreEntry, Handoff, Account, Contact, Deal, Touch, Event,
    )  # fmt: skip

    def snapshot() -> tuple[object, ...]:
        counts = tuple(model.objects.count() for model in models)
        return counts, Lead.objects.aggregate(Max("updated_at")), Event.objects.aggregate(Max("id"))

    before = snapshot()
    second = StringIO()
    call_command("seed_demo", stdout=second)

    assert second.getvalue().strip() == "Demo data already loaded"
    assert snapshot() == before
    assert Lead.objects.count() == SMALL


def test_every_open_handoff_has_its_clocks_and_the_missed_ones_their_breach(db):
    from django.utils import timezone

    from handoff.models import SlaBreach, SlaDeadline

    now = timezone.now()
    seed_demo(now=now)  # the whole demo: a small one has no clock still running

    pending = Handoff.objects.filter(status="pending")
    untouched = Handoff.objects.filter(status__in=["pending", "accepted"], first_touch_at=None)
    assert pending.exists()
    for kind, handoffs, due in (
        ("accept", pending, "accept_due_at"),
        ("touch", untouched, "touch_due_at"),
    ):
        for handoff in handoffs:
            clock = SlaDeadline.objects.get(handoff=handoff, kind=kind)
            assert clock.due_at == getattr(handoff, due)
            assert clock.rep_id == handoff.assigned_to_id
            assert clock.state == ("breached" if clock.due_at <= now else "open")
    missed = SlaDeadline.objects.filter(state="breached")
    assert SlaBreach.objects.count() == missed.count()
    assert set(SlaBreach.objects.values_list("deadline_id", flat=True)) == set(
        missed.values_list("id", flat=True)
    )
    assert SlaDeadline.objects.filter(state="open").exists()
