"""The public capture endpoint (/f/<key>/) and the capture service behind it."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadflow import ratelimit
from leadflow.models import Event
from marketing import services
from marketing.models import FORM_FIELD_CHOICES, ConsentRecord, Lead, Suppression, Touchpoint
from marketing.selectors import email_hash
from tests.factories import FormFactory, LeadFactory

pytestmark = pytest.mark.django_db

PERSON = {
    "email": "  Jane.Doe@Example.COM ",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Example Inc",
    "job_title": "VP Marketing",
    "company_size": "500",
    "country": "de",
    "phone": "030 1234567",
}
EVERY_FIELD = [{"name": name, "required": name == "email"} for name in FORM_FIELD_CHOICES]
SITE = "https://www.example.org"


def full_form(**kwargs):
    """A form that asks for every lead attribute (the factory's asks for five)."""
    return FormFactory(fields=EVERY_FIELD, **kwargs)


def post(form, data, **extra):
    return Client().post(reverse("marketing:public_form", args=[form.key]), data, **extra)


def post_json(form, data, **extra):
    return Client().post(
        reverse("marketing:public_form", args=[form.key]),
        data,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        **extra,
    )


def random_ip():
    """A client address of its own, so rate-limit counters of other tests never mix in."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def test_a_submission_stores_the_lead_at_once_with_its_attribution():
    form = full_form()
    response = post(form, {**PERSON, "utm_source": "newsletter", "utm_campaign": "spring"})

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.email == "jane.doe@example.com"
    assert lead.phone == "+49301234567"
    assert lead.country == "DE"
    assert lead.campaign == form.campaign
    assert lead.source == "newsletter"
    assert lead.scored_at is None  # the worker scores it
    touch = Touchpoint.objects.get()
    assert (touch.utm_source, touch.utm_campaign, touch.form) == ("newsletter", "spring", form)
    assert Event.objects.filter(subject_type="marketing.lead", kind="created").count() == 1


def test_a_touchpoint_keeps_the_full_attribution_and_the_lead_its_first_and_last_touch():
    form = full_form()
    attribution = {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "crm software",
        "utm_content": "ad-2",
        "gclid": "Cj0KCQ-abc",
        "fbclid": "IwAR-xyz",
        "referrer": "https://www.google.com/",
        "landing_page": "https://www.example.org/demo?utm_source=google",
    }
    post(form, {**PERSON, **attribution})
    post(full_form(), {**PERSON, "utm_source": "linkedin"})

    lead = Lead.objects.get()
    first, last = lead.touchpoints.order_by("id")
    assert {name: getattr(first, name) for name in attribution} == attribution
    assert (lead.first_touch, lead.last_touch) == (first, last)
    assert last.utm_source == "linkedin"
    assert lead.source == "google"  # the first touch's source stays


def test_the_same_person_twice_is_one_lead_with_two_touchpoints_and_only_empty_fields_filled():
    form = full_form()
    existing = LeadFactory(email="jane.doe@example.com", company="Original Co", job_title="")

    post(form, PERSON)

    assert Lead.objects.count() == 1
    existing.refresh_from_db()
    assert existing.company == "Original Co"  # kept
    assert existing.job_title == "VP Marketing"  # filled
    assert existing.touchpoints.count() == 1
    assert existing.first_touch == existing.last_touch == existing.touchpoints.get()
    assert not Event.objects.filter(kind="created").exists()


def test_a_new_address_with_the_phone_of_a_lead_without_an_address_completes_that_lead():
    known = LeadFactory(email=None, phone="+49301234567", company="")

    post(full_form(), PERSON)

    assert Lead.objects.count() == 1
    known.refresh_from_db()
    assert known.email == "jane.doe@example.com"
    assert known.company == "Example Inc"
    assert known.touchpoints.count() == 1


def test_a_phone_shared_with_a_lead_of_another_address_is_another_person():
    LeadFactory(email="switchboard@example.com", phone="+49301234567")

    post(full_form(), PERSON)

    assert Lead.objects.count() == 2


def test_a_double_submit_within_the_window_is_one_touchpoint_and_one_event():
    form = full_form()
    first = post(form, PERSON)
    second = post(form, PERSON)

    assert first.status_code == second.status_code == 200
    assert second.content == first.content  # the same thank-you
    assert Lead.objects.count() == 1
    assert Touchpoint.objects.count() == 1
    assert Event.objects.filter(kind="created").count() == 1


def test_the_same_idempotency_key_retried_is_one_touchpoint_and_the_same_success():
    form = full_form()
    first = post_json(form, PERSON, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = post_json(form, PERSON, HTTP_IDEMPOTENCY_KEY="retry-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Touchpoint.objects.count() == 1


def test_another_idempotency_key_from_the_same_person_is_another_touchpoint():
    form = full_form()
    post_json(form, PERSON, HTTP_IDEMPOTENCY_KEY="visit-1")
    post_json(form, PERSON, HTTP_IDEMPOTENCY_KEY="visit-2")

    assert Lead.objects.count() == 1
    assert Touchpoint.objects.count() == 2


def test_the_hosted_page_carries_a_key_per_rendering_so_a_double_click_is_one_submission():
    form = full_form()
    page = Client().get(reverse("marketing:public_form", args=[form.key]), {"gclid": "G-1"})
    key = page.context["hidden"]["idempotency_key"]
    assert f'value="{key}"' in page.content.decode()

    for _ in range(2):
        post(form, {**PERSON, "idempotency_key": key, "gclid": "G-1"})
    post(form, {**PERSON, "email": "other@example.com", "idempotency_key": key})

    assert Touchpoint.objects.filter(gclid="G-1").count() == 1
    assert Lead.objects.count() == 2  # the same key with another address is another person


def test_a_suppressed_address_is_not_captured_again_and_the_visitor_sees_the_usual_thanks():
    form = full_form()
    Suppression.objects.create(email_hash=email_hash("jane.doe@example.com"))

    html = post(form, PERSON)
    json_answer = post_json(form, PERSON)

    assert html.status_code == 200
    assert str(form.thank_you_message) in html.content.decode()
    assert json_answer.status_code == 201
    assert json_answer.json()["message"] == str(form.thank_you_message)
    assert not Lead.objects.exists()
    assert not Touchpoint.objects.exists()
    assert not ConsentRecord.objects.exists()


def test_a_suppressed_address_of_a_known_lead_adds_nothing_to_it():
    lead = LeadFactory(email="jane.doe@example.com", job_title="")
    Suppression.objects.create(email_hash=email_hash(lead.email))

    result = services.lead_capture(
        form=full_form(), data=services.CaptureInput(email=" JANE.doe@example.com", job_title="VP")
    )

    assert result.suppressed
    assert result.lead_id is None
    lead.refresh_from_db()
    assert lead.job_title == ""
    assert not lead.touchpoints.exists()


def set_consent_text(form, text: str) -> None:
    """Edit only the form's consent wording, as the builder would."""
    services.form_update(
        form_id=form.pk,
        name=form.name,
        title="",
        thank_you_message="",
        consent_text=text,
        fields=EVERY_FIELD,
        redirect_url="",
        allowed_origins="",
        fast_track=False,
        is_active=True,
    )


def test_consent_is_recorded_with_the_version_shown_the_address_and_the_lawful_basis():
    form = full_form()
    set_consent_text(form, "I agree to hear from Example.")
    first = form.consent_texts.get()
    set_consent_text(form, "I agree to hear from Example and its partners.")

    # The visitor's page was rendered before the edit: they agreed to version 1.
    post(form, {**PERSON, "consent": "on", "consent_version": "1"}, REMOTE_ADDR="203.0.113.7")
    post(form, {**PERSON, "email": "b@example.com", "consent": "on"}, REMOTE_ADDR="2001:db8::1")

    old, new = ConsentRecord.objects.order_by("id")
    assert (old.consent_text, old.ip, old.lawful_basis, old.source) == (
        first,
        "203.0.113.7",
        "consent",
        "form",
    )
    assert old.lead.email == "jane.doe@example.com"
    assert new.consent_text.version == 2  # none posted: the current version
    assert new.ip == "2001:db8::1"


def test_a_form_with_a_consent_text_needs_the_box_ticked_and_stores_nothing_without_it():
    form = full_form()
    set_consent_text(form, "I agree.")

    response = post_json(form, PERSON)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["consent"]
    assert not Lead.objects.exists()


def test_a_required_field_left_empty_is_a_field_error_in_json_and_in_html():
    fields = [{"name": "email", "required": True}, {"name": "company", "required": True}]
    form = FormFactory(fields=fields)

    answer = post_json(form, {**PERSON, "company": " "})
    page = post(form, {**PERSON, "company": ""})

    assert answer.status_code == page.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"company": ["This field is required."]}
    assert "This field is required." in page.content.decode()
    assert 'value="Jane"' not in page.content.decode()  # first_name is not asked
    assert "Jane.Doe@Example.COM" in page.content.decode()  # kept for a retry
    assert not Lead.objects.exists()


def test_fields_the_form_does_not_ask_for_are_ignored():
    form = FormFactory(fields=[{"name": "email", "required": True}])

    post(form, PERSON)

    lead = Lead.objects.get()
    assert (lead.company, lead.phone, lead.company_size) == ("", "", None)


def test_a_honeypot_submission_stores_nothing():
    response = post(full_form(), {**PERSON, "website": "http://spam.example"})

    assert response.status_code == 200
    assert not Lead.objects.exists()
    assert not Touchpoint.objects.exists()


def test_an_invalid_submission_says_what_is_wrong_and_stores_nothing():
    response = post(full_form(), {**PERSON, "email": "not-an-email", "phone": "12"})

    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content
    assert not Lead.objects.exists()


def test_an_impossible_phone_number_is_a_field_error_not_a_crash():
    response = post(full_form(), {**PERSON, "phone": "+1 2"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_a_json_body_is_accepted_and_unreadable_json_is_a_clear_400():
    form = full_form()

    ok = post_json(form, {**PERSON, "company_size": 500, "consent": True})
    broken = Client().post(
        reverse("marketing:public_form", args=[form.key]),
        b"{not json",
        content_type="application/json",
    )

    assert ok.status_code == 201
    assert Lead.objects.get().company_size == 500
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "unreadable"


def test_json_clients_get_201_and_the_public_endpoint_sets_no_cookie():
    form = full_form()
    url = reverse("marketing:public_form", args=[form.key])
    client = Client()
    answers = [
        client.get(url),
        client.post(url, PERSON, HTTP_ACCEPT="application/json"),
        client.post(url, {"email": "nope"}),
        client.options(url, HTTP_ORIGIN="https://elsewhere.example"),
        client.get(reverse("marketing:public_form_definition", args=[form.key])),
    ]

    assert answers[1].status_code == 201
    for response in answers:
        assert not response.cookies, response
        assert "Set-Cookie" not in response


def test_a_redirect_form_sends_browsers_on_and_tells_json_clients_where():
    form = full_form(redirect_url="https://www.example.org/thanks")

    page = post(form, PERSON)
    answer = post_json(form, {**PERSON, "email": "b@example.com"})

    assert page.status_code == 303
    assert page["Location"] == "https://www.example.org/thanks"
    assert answer.json()["redirect_url"] == "https://www.example.org/thanks"


def test_an_unknown_or_inactive_form_is_404():
    inactive = full_form(is_active=False)
    assert post(inactive, PERSON).status_code == 404
    assert Client().get("/f/nope/").status_code == 404
    assert post_json(inactive, PERSON).json()["error"]["code"] == "not_found"


# --- Origins (CORS) ---------------------------------------------------------------------


def test_an_embed_on_an_allowed_origin_is_accepted_with_cors_headers():
    form = full_form(allowed_origins=f"{SITE}\nhttps://shop.example.org")

    response = post_json(form, PERSON, HTTP_ORIGIN=SITE)

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in response["Vary"]
    assert Lead.objects.count() == 1


def test_an_unlisted_origin_is_refused_and_nothing_is_stored():
    form = full_form(allowed_origins=SITE)

    response = post_json(form, PERSON, HTTP_ORIGIN="https://evil.example")
    page = post(form, PERSON, HTTP_ORIGIN="http://www.example.org")  # http is another origin

    assert response.status_code == page.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert not Lead.objects.exists()


def test_the_hosted_page_posts_from_our_own_origin_without_being_listed():
    form = full_form()

    response = post(form, PERSON, HTTP_ORIGIN="http://testserver")

    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_the_preflight_allows_an_allowed_origin_to_post_json_with_an_idempotency_key():
    form = full_form(allowed_origins=SITE)
    url = reverse("marketing:public_form", args=[form.key])

    allowed = Client().options(url, HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    refused = Client().options(url, HTTP_ORIGIN="https://evil.example")

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    headers = allowed["Access-Control-Allow-Headers"].lower()
    assert "content-type" in headers
    assert "idempotency-key" in headers
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


# --- Limits -----------------------------------------------------------------------------


def test_the_submission_over_the_per_ip_limit_gets_429_with_retry_after(settings):
    settings.LEADFLOW_CAPTURE_RATE_PER_IP = 3
    form = full_form(allowed_origins=SITE)
    ip = random_ip()

    answers = [
        post_json(form, {**PERSON, "email": f"p{i}@example.com"}, REMOTE_ADDR=ip, HTTP_ORIGIN=SITE)
        for i in range(4)
    ]
    page = post(full_form(), PERSON, REMOTE_ADDR=ip)  # the limit is per address, all forms

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[3]
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Access-Control-Allow-Origin"] == SITE  # the embed can show why
    assert page.status_code == 429
    assert "Too many submissions" in page.content.decode()
    assert 'value="Example Inc"' in page.content.decode()  # nothing typed is lost
    assert Lead.objects.count() == 3
    assert post(form, PERSON, REMOTE_ADDR=random_ip()).status_code == 200  # others go on


def test_the_submission_over_the_per_form_limit_gets_429(settings):
    settings.LEADFLOW_CAPTURE_RATE_PER_FORM = 2
    form = full_form()

    codes = [
        post_json(form, {**PERSON, "email": f"p{i}@example.com"}, REMOTE_ADDR=random_ip())
        for i in range(3)
    ]

    assert [c.status_code for c in codes] == [201, 201, 429]
    assert post_json(full_form(), PERSON).status_code == 201  # another form goes on


def test_capture_goes_on_when_redis_is_down(settings, monkeypatch, caplog):
    settings.LEADFLOW_CAPTURE_RATE_PER_IP = 1
    dead = redis.Redis(unix_socket_path="/nonexistent/redis.sock", socket_timeout=1)
    monkeypatch.setattr(cache._cache, "get_client", lambda *args, **kwargs: dead)
    monkeypatch.setattr(ratelimit, "redis_client", lambda: dead)
    form = full_form()

    codes = [post_json(form, {**PERSON, "email": f"p{i}@example.com"}) for i in range(2)]

    assert [c.status_code for c in codes] == [201, 201]  # the limit of 1 fails open
    assert Lead.objects.count() == 2
    assert "rate limit not checked" in caplog.text
    assert "form cache unavailable" in caplog.text


def test_a_body_over_the_size_limit_is_refused_with_413_before_it_is_read(settings):
    settings.LEADFLOW_CAPTURE_MAX_BYTES = 1024
    form = full_form()

    response = post_json(form, {**PERSON, "company": "x" * 2000})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Lead.objects.exists()


# --- The hot path -------------------------------------------------------------------------


def test_capture_takes_a_fixed_small_number_of_statements():
    form = full_form(fast_track=True)
    services.form_update(
        form_id=form.pk,
        name=form.name,
        title="",
        thank_you_message="",
        consent_text="I agree.",
        fields=EVERY_FIELD,
        redirect_url="",
        allowed_origins="",
        fast_track=True,
        is_active=True,
    )
    Suppression.objects.create(email_hash=email_hash("someone-else@example.com"))
    LeadFactory.create_batch(20, phone="+493012345")
    person = {**PERSON, "consent": "on", "utm_source": "google", "gclid": "G"}
    post(form, {**person, "email": "warm@example.com"})  # warm caches
    with CaptureQueriesContext(connection) as first:
        post(form, {**person, "email": "new@example.com"})
    with CaptureQueriesContext(connection) as known:
        post(form, {**person, "email": "new@example.com", "idempotency_key": "another"})

    statements = [q["sql"][:80] for q in first.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 5, statements
    assert len([q for q in known.captured_queries if "SAVEPOINT" not in q["sql"]]) <= 5
    lead = Lead.objects.get(email="new@example.com")
    assert lead.touchpoints.count() == 2
    assert lead.consents.count() == 2
    assert lead.last_touch == lead.touchpoints.order_by("id").last()
    assert Event.objects.filter(subject_id=lead.pk, kind="created").count() == 1


# --- Concurrency --------------------------------------------------------------------------


def _post_at_once(form, *requests):
    """Post every (body, headers) from its own thread and database connection, at once."""
    barrier = threading.Barrier(len(requests))
    statuses = []

    def submit(body, headers):
        try:
            barrier.wait()
            statuses.append(post_json(form, body, **headers).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_identical_submits_give_one_lead_one_touchpoint_and_one_event():
    form = full_form()
    for round_ in range(5):
        body = {**PERSON, "email": f"race{round_}@example.com"}
        assert _post_at_once(form, (body, {}), (body, {})) == [201, 201]
        keyed = {**PERSON, "email": f"keyed{round_}@example.com"}
        key = {"HTTP_IDEMPOTENCY_KEY": f"k{round_}"}
        assert _post_at_once(form, (keyed, key), (keyed, key)) == [201, 201]

    assert Lead.objects.count() == 10
    assert Touchpoint.objects.count() == 10
    assert Event.objects.filter(kind="created").count() == 10
    for lead in Lead.objects.all():
        assert lead.first_touch_id == lead.last_touch_id == lead.touchpoints.get().pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_different_submits_of_one_new_person_give_one_lead_and_two_touchpoints():
    form = full_form()
    for round_ in range(5):
        body = {**PERSON, "email": f"same{round_}@example.com"}
        statuses = _post_at_once(
            form,
            ({**body, "utm_source": "a"}, {"HTTP_IDEMPOTENCY_KEY": "a"}),
            ({**body, "utm_source": "b"}, {"HTTP_IDEMPOTENCY_KEY": "b"}),
        )
        assert statuses == [201, 201]

    assert Lead.objects.count() == 5
    for lead in Lead.objects.all():
        assert sorted(lead.touchpoints.values_list("utm_source", flat=True)) == ["a", "b"]
        # Which one is last is the order of the commits; first and last are the two.
        assert {lead.first_touch_id, lead.last_touch_id} == set(
            lead.touchpoints.values_list("pk", flat=True)
        )
    assert Event.objects.filter(kind="created").count() == 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_copy_that_commits_while_the_second_waits_makes_the_second_a_duplicate():
    """The race forced, not hoped for: B's statement 1 waits on A's uncommitted lead, then
    finds A's touchpoint at its own insert, and rolls back all it did."""
    form = full_form()
    data = services.CaptureInput(email="race@example.com", company="A")
    results = {}
    a_stored, a_may_commit = threading.Event(), threading.Event()

    def first():
        try:
            with transaction.atomic():
                results["a"] = services.lead_capture(form=form, data=data, idempotency_key="k")
                a_stored.set()
                a_may_commit.wait(10)
        finally:
            connections.close_all()

    def second():
        try:
            a_stored.wait(10)
            results["b"] = services.lead_capture(form=form, data=data, idempotency_key="k")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    waiting = 0
    for _ in range(100):  # until B waits on A's lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0]
        if waiting:
            break
        time.sleep(0.05)
    a_may_commit.set()
    for thread in threads:
        thread.join()

    assert waiting == 1
    assert results["a"].created
    assert results["b"].duplicate_submission
    assert results["b"].lead_id == results["a"].lead_id
    lead = Lead.objects.get()
    touch = lead.touchpoints.get()
    assert lead.first_touch_id == lead.last_touch_id == touch.pk
    assert Event.objects.filter(kind="created").count() == 1
