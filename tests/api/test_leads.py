from __future__ import annotations

import pytest

from leadflow.models import Event
from marketing.models import Lead, Suppression
from marketing.selectors import email_hash
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_create_normalises_and_returns_the_lead_with_its_location(api):
    response = api.post(
        "/api/v1/leads/",
        {"email": " Ana@Example.COM ", "phone": "030 1234567", "country": "Germany"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "ana@example.com"
    assert body["phone"] == "+49301234567"
    assert body["country"] == "DE"
    assert response["Location"] == f"/api/v1/leads/{body['id']}/"
    assert Event.objects.filter(subject_id=body["id"], kind="created").exists()


def test_create_of_a_known_address_is_a_conflict_naming_the_lead(api):
    lead = LeadFactory(email="ana@example.com")
    response = api.post("/api/v1/leads/", {"email": "ANA@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert str(lead.pk) in response.json()["message"]


def test_bad_input_gets_the_error_shape_with_fields(api):
    response = api.post("/api/v1/leads/", {"email": "nope", "company_size": "many"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"email", "company_size"}


def test_upsert_by_external_id_updates_only_the_fields_sent(api):
    lead = LeadFactory(email="bo@example.com", external_id="crm-1", company="Old", job_title="CTO")
    response = api.post(
        "/api/v1/leads/upsert/", {"external_id": "crm-1", "company": "New"}, format="json"
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.job_title) == ("New", "CTO")


def test_upsert_by_email_creates_then_updates(api):
    first = api.post("/api/v1/leads/upsert/", {"email": "cy@example.com"}, format="json")
    second = api.post(
        "/api/v1/leads/upsert/", {"email": "cy@example.com", "first_name": "Cy"}, format="json"
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Lead.objects.get(email="cy@example.com").first_name == "Cy"


def test_upsert_refuses_an_email_and_external_id_of_two_different_leads(api):
    LeadFactory(email="a@example.com", external_id="x-1")
    LeadFactory(email="b@example.com", external_id="x-2")
    response = api.post(
        "/api/v1/leads/upsert/", {"email": "b@example.com", "external_id": "x-1"}, format="json"
    )
    assert response.status_code == 409


def test_a_suppressed_address_is_refused_and_not_stored(api):
    Suppression.objects.create(email_hash=email_hash("gone@example.com"))
    response = api.post("/api/v1/leads/upsert/", {"email": "gone@example.com"}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "suppressed"
    assert not Lead.objects.filter(email="gone@example.com").exists()


def test_batch_gives_a_result_per_item_and_keeps_the_good_ones(api):
    LeadFactory(email="known@example.com")
    campaign = CampaignFactory()
    items = [
        {"email": "new@example.com", "campaign": campaign.pk},
        {"email": "known@example.com", "company": "Known Inc"},
        {"email": "not-an-address"},
        {"email": "new@example.com"},
        {"external_id": "only-ext"},
    ]
    response = api.post("/api/v1/leads/batch/", {"items": items}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "created",
        "updated",
        "error",
        "error",
        "created",
    ]
    assert (body["created"], body["updated"], body["errors"]) == (2, 1, 2)
    assert Lead.objects.get(email="new@example.com").campaign_id == campaign.pk
    assert Lead.objects.get(email="known@example.com").company == "Known Inc"
    assert Lead.objects.filter(external_id="only-ext", email=None).exists()


def test_batch_over_a_thousand_is_refused(api):
    items = [{"email": f"p{n}@example.com"} for n in range(1001)]
    response = api.post("/api/v1/leads/batch/", {"items": items}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "items" in response.json()["fields"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("key", [None, "big-1"])
def test_a_body_over_the_size_limit_is_a_413_in_the_error_shape(api, settings, key):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    items = [{"email": f"p{n}@example.com", "company": "x" * 190} for n in range(100)]
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = api.post("/api/v1/leads/batch/", {"items": items}, format="json", **extra)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_patch_changes_the_fields_sent(api):
    lead = LeadFactory(email="d@example.com", company="Old")
    response = api.patch(f"/api/v1/leads/{lead.pk}/", {"company": "New"}, format="json")
    assert response.status_code == 200
    assert response.json()["company"] == "New"
    assert response.json()["email"] == "d@example.com"


def test_patch_to_another_leads_address_is_a_conflict(api):
    LeadFactory(email="taken@example.com")
    lead = LeadFactory(email="e@example.com")
    response = api.patch(f"/api/v1/leads/{lead.pk}/", {"email": "taken@example.com"}, format="json")
    assert response.status_code == 409
    lead.refresh_from_db()
    assert lead.email == "e@example.com"


def test_list_filters_by_stage_and_pages_by_cursor(api):
    for n in range(5):
        LeadFactory(email=f"s{n}@example.com", stage="sql")
    LeadFactory(email="other@example.com", stage="lead")
    first = api.get("/api/v1/leads/?stage=sql&limit=3").json()
    assert len(first["results"]) == 3
    second = api.get(first["next"]).json()
    emails = {row["email"] for row in first["results"] + second["results"]}
    assert emails == {f"s{n}@example.com" for n in range(5)}
    assert second["next"] is None


def test_list_answers_in_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for n in range(30):
        LeadFactory(email=f"q{n}@example.com")
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/leads/?limit=30").json()["results"]) == 30


def test_an_unknown_lead_is_a_404_in_the_error_shape(api):
    response = api.get("/api/v1/leads/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_api_url_is_a_404_in_the_error_shape(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_activity_is_recorded_on_the_lead_found_by_email_once_per_id(api):
    lead = LeadFactory(email="act@example.com")
    body = {"email": "ACT@example.com", "kind": "pricing_view", "url": "/pricing", "id": "w-1"}
    first = api.post("/api/v1/activities/", body, format="json")
    again = api.post("/api/v1/activities/", body, format="json")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert lead.touchpoints.filter(kind="pricing_view").count() == 1
    lead.refresh_from_db()
    assert lead.scored_at is None  # due for scoring


def test_an_activity_of_an_unknown_lead_or_in_the_future_is_refused(api):
    LeadFactory(email="f@example.com")
    unknown = api.post(
        "/api/v1/activities/", {"email": "nobody@example.com", "kind": "webinar"}, format="json"
    )
    assert unknown.status_code == 404
    future = api.post(
        "/api/v1/activities/",
        {"email": "f@example.com", "kind": "webinar", "occurred_at": "2999-01-01T00:00:00Z"},
        format="json",
    )
    assert future.status_code == 400
    assert "occurred_at" in future.json()["fields"]
