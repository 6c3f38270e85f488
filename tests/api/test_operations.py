"""Handoffs, deals, KPIs and imports through the API: the same rules as the browser."""

from __future__ import annotations

from datetime import datetime

import pytest

from handoff import selectors
from handoff.models import Handoff
from leadflow.api import webhooks
from leadflow.api.models import WebhookDelivery
from marketing.models import ImportJob, Lead, Stage
from tests.factories import HandoffFactory, LeadFactory
from tests.sales.conftest import accepted_handoff, convert

pytestmark = pytest.mark.django_db


def test_a_rep_lists_their_handoffs_and_the_team_pool_but_no_one_elses(cast, make_client):
    mine = HandoffFactory(team=cast.team, assigned_to=cast.rep)
    pool = HandoffFactory(team=cast.team, assigned_to=None)
    HandoffFactory(team=cast.team, assigned_to=cast.rep2)
    HandoffFactory(team=cast.other_team, assigned_to=None)
    client = make_client("handoffs:read", user=cast.rep)
    ids = {row["id"] for row in client.get("/api/v1/handoffs/").json()["results"]}
    assert ids == {mine.pk, pool.pk}
    assert {row["id"] for row in client.get("/api/v1/handoffs/?mine=true").json()["results"]} == {
        mine.pk
    }


def test_claiming_from_the_pool_once_wins_and_twice_conflicts(cast, make_client):
    pool = HandoffFactory(team=cast.team, assigned_to=None)
    first = make_client("handoffs:read", "handoffs:write", user=cast.rep)
    second = make_client("handoffs:read", "handoffs:write", user=cast.rep2)
    response = first.post(f"/api/v1/handoffs/{pool.pk}/claim/")
    assert response.status_code == 200
    assert response.json()["assigned_to"] == cast.rep.pk
    # Claimed: no longer in rep2's view (404), and never both.
    assert second.post(f"/api/v1/handoffs/{pool.pk}/claim/").status_code in (404, 409)


def test_reject_needs_a_reason_and_recycles_the_lead(cast, make_client):
    handoff = accepted_handoff(cast.rep)
    client = make_client("handoffs:read", "handoffs:write", user=cast.rep)
    refused = client.post(f"/api/v1/handoffs/{handoff.pk}/reject/", {}, format="json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["fields"]
    response = client.post(
        f"/api/v1/handoffs/{handoff.pk}/reject/", {"reason": "bad_timing"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == Handoff.Status.REJECTED
    assert Lead.objects.get(pk=handoff.lead_id).stage == Stage.RECYCLED


def test_another_reps_handoff_cannot_be_accepted(cast, make_client):
    theirs = HandoffFactory(team=cast.team, assigned_to=cast.rep2)
    client = make_client("handoffs:read", "handoffs:write", user=cast.rep)
    assert client.post(f"/api/v1/handoffs/{theirs.pk}/accept/").status_code == 404


def test_a_rep_sees_only_their_deals_and_winning_one_sends_the_webhook(cast, make_client):
    own = convert(cast.rep)
    convert(cast.rep2)
    webhooks.endpoint_create(
        created_by=cast.admin, url="http://127.0.0.1:9/hook", event_types=["deal.won"]
    )
    client = make_client("deals:read", "deals:write", user=cast.rep)
    ids = [row["id"] for row in client.get("/api/v1/deals/").json()["results"]]
    assert ids == [own.pk]
    refused = client.post(f"/api/v1/deals/{own.pk}/won/", {}, format="json")
    assert refused.status_code == 400
    response = client.post(
        f"/api/v1/deals/{own.pk}/won/", {"reason": "Best fit for their needs"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == "won"
    delivery = WebhookDelivery.objects.get(event_type="deal.won")
    assert delivery.payload["deal"]["id"] == own.pk
    assert Lead.objects.get(pk=own.lead_id).stage == Stage.CUSTOMER


def test_a_deal_can_be_created_and_updated(cast, make_client):
    client = make_client("deals:read", "deals:write", user=cast.rep)
    response = client.post(
        "/api/v1/deals/",
        {"name": "50 seats", "amount": "24000", "email": "ana@example-corp.com"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    deal_id = response.json()["id"]
    response = client.patch(f"/api/v1/deals/{deal_id}/", {"amount": "30000"}, format="json")
    assert response.json()["amount"] == "30000.00"
    assert response.json()["name"] == "50 seats"


def test_kpis_are_the_dashboards_numbers_and_a_rep_gets_their_team(cast, make_client):
    LeadFactory.create_batch(3)
    body = make_client("kpis:read").get("/api/v1/kpis/?period=30").json()
    funnel = selectors.dashboard_funnel(
        start=datetime.fromisoformat(body["start"]), end=datetime.fromisoformat(body["end"])
    )
    assert (body["leads"], body["mqls"], body["sqls"], body["won"]) == (
        funnel.leads,
        funnel.mqls,
        funnel.sqls,
        funnel.won,
    )
    rep = make_client("kpis:read", user=cast.rep)
    assert rep.get(f"/api/v1/kpis/?team={cast.other_team.pk}").json()["team"] == cast.team.pk
    unknown = make_client("kpis:read").get("/api/v1/kpis/?team=999999")
    assert unknown.status_code == 400


def test_an_import_job_is_created_from_a_csv_and_can_be_polled(cast, make_client, tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("Email,First name\nana@example.com,Ana\nnot-an-address,Bo\n")
    client = make_client("leads:write", user=cast.marketer)
    with csv.open("rb") as handle:
        response = client.post("/api/v1/imports/", {"file": handle}, format="multipart")
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == ImportJob.Status.QUEUED
    assert job.mapping["Email"] == "email"
    polled = client.get(response["Location"]).json()
    assert polled["status"] == "queued"
    assert polled["errors_url"] is None


def test_the_error_report_of_a_finished_import_can_be_fetched(cast, make_client, tmp_path):
    from marketing.imports import import_run

    csv = tmp_path / "people.csv"
    csv.write_text("Email,First name\nana@example.com,Ana\nnot-an-address,Bo\n")
    client = make_client("leads:write", user=cast.marketer)
    with csv.open("rb") as handle:
        job_id = client.post("/api/v1/imports/", {"file": handle}, format="multipart").json()["id"]
    import_run(job_id=job_id)  # what the worker does
    job = client.get(f"/api/v1/imports/{job_id}/").json()
    assert (job["status"], job["created_count"], job["error_count"]) == ("done", 1, 1)
    report = client.get(job["errors_url"])
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert "not-an-address" in b"".join(report.streaming_content).decode("utf-8-sig")
