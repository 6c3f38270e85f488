"""The scoring pages: who may see them, editing rules in the browser, the preview."""

from __future__ import annotations

import pytest

from marketing import scoring, services
from marketing.models import RescoreJob, ScoringChange, ScoringConfig, ScoringRule
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scoring_rules")]


def test_only_marketing_sees_the_scoring_pages(cast):
    rule = ScoringRule.objects.first()
    for url in ("/scoring/", f"/scoring/rules/{rule.pk}/", "/scoring/rules/new/?axis=fit"):
        assert login(cast.rep).get(url).status_code == 403
        assert login(cast.marketer).get(url).status_code == 200
        assert login(cast.manager).get(url).status_code == 200


def test_the_rules_page_lists_both_axes_and_the_settings(cast):
    body = login(cast.marketer).get("/scoring/").content.decode()
    assert "Company size 200+" in body
    assert "Webinar attended" in body
    assert "half-life" in body
    assert "No change yet" in body


def test_a_marketer_creates_an_engagement_rule_and_every_lead_is_rescored(cast):
    client = login(cast.marketer)
    response = client.post(
        "/scoring/rules/new/?axis=engagement",
        {
            "name": "Pricing page",
            "axis": "engagement",
            "activity": "page_view",
            "pattern": "/pricing",
            "points": "12",
            "period_cap": "24",
            "period_days": "1",
            "is_active": "on",
            "action": "save",
        },
    )
    assert response.status_code == 302
    rule = ScoringRule.objects.get(name="Pricing page")
    assert (rule.value, rule.pattern, rule.points, rule.period_cap) == (
        "page_view",
        "/pricing",
        12,
        24,
    )
    change = ScoringChange.objects.get(rule=rule)
    assert (change.actor, change.action) == (cast.marketer, "created")
    job = RescoreJob.objects.get(change=change)
    assert job.rule_ids == [rule.pk]
    page = client.get("/scoring/").content.decode()
    assert "Pricing page" in page
    assert f"/scoring/jobs/{job.pk}/" in page  # the progress panel polls while it runs


def test_an_invalid_rule_shows_the_reason_and_saves_nothing(cast):
    response = login(cast.marketer).post(
        "/scoring/rules/new/?axis=fit",
        {
            "name": "Title",
            "axis": "fit",
            "field": "job_title",
            "operator": "matches",
            "value": "(VP",
            "points": "10",
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert "is not a valid pattern" in response.content.decode()
    assert not ScoringRule.objects.filter(name="Title").exists()


def test_the_preview_counts_on_real_data_and_changes_nothing(cast):
    lead = LeadFactory(company_size=250)
    scoring.lead_score(lead_id=lead.pk)
    rule = ScoringRule.objects.get(name="Company size 200+")
    response = login(cast.marketer).post(
        f"/scoring/rules/{rule.pk}/",
        {
            "name": rule.name,
            "axis": "fit",
            "field": "company_size",
            "operator": "gte",
            "value": "200",
            "points": "40",
            "is_active": "on",
            "action": "preview",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview"' in body
    assert "1 of 1 leads change grade" in body
    rule.refresh_from_db()
    assert rule.points == 20
    assert not ScoringChange.objects.exists()


def test_settings_are_saved_with_a_version_and_bad_bands_are_refused(cast):
    client = login(cast.manager)
    data = {
        "grade_a": "40",
        "grade_b": "20",
        "grade_c": "5",
        "half_life_days": "14",
        "mql_min_grade": "B",
        "mql_min_engagement": "50",
        "action": "save",
    }
    assert client.post("/scoring/", data).status_code == 302
    assert ScoringConfig.objects.get(pk=1).half_life_days == 14
    assert ScoringChange.objects.get(action="settings").after["grade_a"] == 40
    bad = client.post("/scoring/", {**data, "grade_b": "50"})
    assert bad.status_code == 400
    assert "Grade bands must fall" in bad.content.decode()


def test_the_progress_panel_shows_the_job(cast):
    job = scoring.rescore_start(change=None, rule_ids=[])
    body = login(cast.marketer).get(f"/scoring/jobs/{job.pk}/").content.decode()
    assert "Re-scoring" in body
    assert "every 1s" in body
    scoring.rescore_run(job_id=job.pk)
    body = login(cast.marketer).get(f"/scoring/jobs/{job.pk}/").content.decode()
    assert "every 1s" not in body
    assert "Done" in body


def test_the_lead_page_explains_the_score_in_words_with_its_history(cast):
    lead = LeadFactory(company_size=500, job_title="VP Sales", country="US")
    services.activity_record(lead_id=lead.pk, kind="webinar")
    scoring.lead_score(lead_id=lead.pk)
    body = login(cast.marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "Fit 45 makes grade A" in body
    assert "Engagement 20: 1 activity earned 20 points" in body
    assert "30 more engagement points make an MQL" in body
    assert 'id="score-history-data"' in body
    assert "Company size 200+" in body
