from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import connection
from django.test import Client
from django.urls import reverse

from handoff import services as handoff_services
from handoff.models import Handoff
from leadflow.models import AuditEntry, Event
from marketing import privacy
from marketing.models import ConsentRecord, ConsentText, Lead, Suppression, Touchpoint
from marketing.scoring import lead_score
from marketing.selectors import email_hash
from sales.models import Contact, Deal, Touch
from tests.conftest import login
from tests.factories import FormFactory, HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db

EMAIL = "zeb.quixworth@quixmail-example.com"
PHONE = "+4915112345678"
FIRST, LAST = "Zebulon", "Quixworth"


def _consented_lead(**fields) -> Lead:
    form = FormFactory.create(consent_text="You may email me about products.")
    text = ConsentText.objects.create(form=form, version=1, text=form.consent_text)
    lead = LeadFactory.create(**fields)
    ConsentRecord.objects.create(lead=lead, consent_text=text, source="form", ip="203.0.113.9")
    Touchpoint.objects.create(
        lead=lead,
        kind="form_submit",
        form=form,
        campaign=form.campaign,
        utm_source="newsletter",
        referrer=f"https://mail.example.com/?to={EMAIL}",
        landing_page=f"https://www.example.com/demo?email={EMAIL}",
        gclid="Cj0KCQ-click-id",
    )
    return lead


def _unsubscribe_path(lead: Lead) -> str:
    path = privacy.unsubscribe_url_for(lead)
    assert path is not None
    return path


# --- Unsubscribe -----------------------------------------------------------------------


def test_the_unsubscribe_link_carries_no_email_and_asks_before_withdrawing(cast):
    lead = _consented_lead(email=EMAIL)
    path = _unsubscribe_path(lead)

    page = Client().get(path)

    assert EMAIL not in path
    assert "quixworth" not in path.lower()
    assert page.status_code == 200
    assert "Unsubscribe from our emails?" in page.content.decode()
    # Opening the link (a mail scanner does) changes nothing.
    assert not Suppression.objects.exists()
    assert ConsentRecord.objects.get(lead=lead).withdrawn_at is None


def test_confirming_withdraws_consent_suppresses_the_address_and_is_recorded(cast):
    lead = _consented_lead(email=EMAIL)

    # As a mail client's one-click unsubscribe (RFC 8058) sends it: no cookie, no token.
    response = Client(enforce_csrf_checks=True).post(
        _unsubscribe_path(lead), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert ConsentRecord.objects.get(lead=lead).withdrawn_at is not None
    suppression = Suppression.objects.get()
    assert suppression.email_hash == email_hash(EMAIL)
    assert suppression.reason == "withdrawn"
    assert Event.objects.filter(
        subject_type="marketing.lead", subject_id=lead.pk, new_value="unsubscribed"
    ).exists()
    audit = AuditEntry.objects.get(action="lead.unsubscribe")
    assert (audit.subject_id, audit.ip) == (lead.pk, None)


def test_unsubscribing_twice_records_it_once(cast):
    lead = _consented_lead(email=EMAIL)
    client = Client()

    client.post(_unsubscribe_path(lead))
    again = client.post(_unsubscribe_path(lead))

    assert again.status_code == 200
    assert Suppression.objects.count() == 1
    assert AuditEntry.objects.filter(action="lead.unsubscribe").count() == 1
    assert "already unsubscribed" in client.get(_unsubscribe_path(lead)).content.decode()


def test_a_tampered_unsubscribe_link_gets_a_clear_page_and_changes_nothing(cast):
    lead = _consented_lead(email=EMAIL)
    path = _unsubscribe_path(lead)
    other = LeadFactory.create()
    # Someone else's lead id in the payload, with this link's signature.
    payload = json.dumps({"l": other.pk, "h": email_hash(other.email)}, separators=(",", ":"))
    token = path.strip("/").split("/")[-1]
    forged_token = ":".join([signing.b64_encode(payload.encode()).decode(), *token.split(":")[1:]])
    forged = reverse("marketing:unsubscribe", args=[forged_token])

    responses = [Client().post(path[:-3] + "xyz/"), Client().get(forged)]

    for response in responses:
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert not Suppression.objects.exists()
    assert ConsentRecord.objects.get(lead=lead).withdrawn_at is None


def test_the_lead_page_shows_consents_and_the_unsubscribe_link(cast):
    lead = _consented_lead(email=EMAIL)
    page = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk])).content.decode()
    assert "http://testserver" + _unsubscribe_path(lead) in page
    assert "You may email me about products." in page
    assert "203.0.113.9" in page


def test_a_suppressed_address_cannot_be_captured_again(cast):
    lead = _consented_lead(email=EMAIL)
    form = FormFactory.create()
    Client().post(_unsubscribe_path(lead))
    touches = Touchpoint.objects.count()

    Client().post(
        reverse("marketing:public_form", args=[form.key]),
        {"email": EMAIL.upper(), "first_name": "Zeb"},
        REMOTE_ADDR="198.51.100.7",
    )

    assert Touchpoint.objects.count() == touches
    assert Lead.objects.get(pk=lead.pk).first_name == lead.first_name


# --- Export ----------------------------------------------------------------------------


def test_the_export_is_a_json_attachment_of_everything_and_is_audited(cast):
    lead = _consented_lead(email=EMAIL, first_name=FIRST, last_name=LAST, company="Quix")
    handoff = HandoffFactory.create(lead=lead, team=cast.team, assigned_to=cast.rep)
    handoff_services.handoff_log_touch(
        handoff_id=handoff.pk, user=cast.rep, kind="call", body="Asked for pricing"
    )

    response = login(cast.marketer).get(
        reverse("handoff:lead_export", args=[lead.pk]), REMOTE_ADDR="192.0.2.44"
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="lead-{lead.pk}.json"'
    data = json.loads(response.content)
    assert data["lead"]["email"] == EMAIL
    assert data["lead"]["last_name"] == LAST
    assert data["touchpoints"][0]["landing_page"].endswith(EMAIL)
    assert data["consents"][0]["consent_text"]["text"] == "You may email me about products."
    assert data["consents"][0]["ip"] == "203.0.113.9"
    assert [h["id"] for h in data["handoffs"]] == [handoff.pk]
    assert data["sales"]["touches"][0]["body"] == "Asked for pricing"
    assert "events" in data
    assert "score_ledger" in data
    audit = AuditEntry.objects.get(action="lead.export")
    assert (audit.actor, audit.subject_id, audit.ip) == (cast.marketer, lead.pk, "192.0.2.44")


def test_reps_cannot_export_or_erase_and_the_unknown_lead_is_404(cast):
    lead = _consented_lead(email=EMAIL)
    rep = login(cast.rep)
    assert rep.get(reverse("handoff:lead_export", args=[lead.pk])).status_code == 403
    erase = reverse("handoff:lead_erase", args=[lead.pk])
    assert rep.post(erase, {"confirm": "ERASE"}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).email == EMAIL
    manager = login(cast.manager)
    assert manager.get(reverse("handoff:lead_export", args=[lead.pk + 999])).status_code == 404
    assert not AuditEntry.objects.filter(action__startswith="lead.").exists()


# --- Erasure ---------------------------------------------------------------------------


def _text_columns_containing(needle: str) -> list[str]:
    """Every text, varchar, json and jsonb column of every table whose value contains
    ``needle`` (any case), as "table.column"."""
    quote = connection.ops.quote_name
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
            """
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f"SELECT count(*) FROM {quote(table)} "  # noqa: S608 -- identifiers quoted
                f"WHERE {quote(column)}::text ILIKE %s",
                [f"%{needle}%"],
            )
            if cursor.fetchone()[0]:
                hits.append(f"{table}.{column}")
    return hits


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Lead, Handoff, Deal, Contact, Touch, Touchpoint, ConsentRecord, Event)
    }


def _person_through_sales(cast) -> Lead:
    """A person with a trail everywhere: touchpoints, consent, a rejected handoff with a
    note, a converted handoff with a call note and a deal named after them, admin history."""
    lead = _consented_lead(
        email=EMAIL,
        phone=PHONE,
        first_name=FIRST,
        last_name=LAST,
        company="",  # no company: the account is named after the free-mail address
        job_title="VP Quixworth Ops",
        external_id="crm-zeb-1",
    )
    rejected = HandoffFactory.create(lead=lead, team=cast.team, assigned_to=cast.rep)
    handoff_services.handoff_reject(
        handoff_id=rejected.pk, user=cast.rep, reason="bad_timing", note=f"{FIRST} asked to wait"
    )
    handoff = HandoffFactory.create(lead=lead, team=cast.team, assigned_to=cast.rep)
    handoff_services.handoff_accept(handoff_id=handoff.pk, user=cast.rep)
    handoff_services.handoff_log_touch(
        handoff_id=handoff.pk,
        user=cast.rep,
        kind="call",
        outcome=f"reached {LAST}",
        body=f"Called {FIRST} {LAST} on {PHONE}, mail {EMAIL}",
    )
    handoff_services.handoff_convert(
        handoff_id=handoff.pk, user=cast.rep, deal_name=f"{FIRST} {LAST}", amount=Decimal(900)
    )
    LogEntry.objects.create(
        user=cast.admin,
        content_type=ContentType.objects.get_for_model(Lead),
        object_id=str(lead.pk),
        object_repr=str(lead),
        action_flag=CHANGE,
        change_message="[]",
    )
    return lead


def test_after_erasure_the_email_phone_and_name_are_in_no_table_and_counts_hold(cast):
    lead = _person_through_sales(cast)
    needles = [EMAIL, PHONE, PHONE[3:], LAST, f"{FIRST} {LAST}", "crm-zeb-1"]
    # The trail is really there: the search below can fail.
    assert all(_text_columns_containing(needle) for needle in needles)
    before = _counts()

    response = login(cast.marketer).post(
        reverse("handoff:lead_erase", args=[lead.pk]), {"confirm": "erase"}
    )

    assert response.status_code == 302
    assert {needle: _text_columns_containing(needle) for needle in needles} == {
        needle: [] for needle in needles
    }
    after = _counts()
    assert after.pop("Event") == before.pop("Event") + 1  # the "erased" event
    assert after == before
    lead.refresh_from_db()
    assert lead.erased_at is not None
    assert (lead.company, lead.stage) == ("", "opportunity")
    assert ConsentRecord.objects.get(lead=lead).withdrawn_at is not None
    assert Suppression.objects.get(email_hash=email_hash(EMAIL)).reason == "erased"
    audit = AuditEntry.objects.get(action="lead.erase")
    assert audit.actor == cast.marketer
    assert audit.detail["contacts"] == 1


def test_erasure_keeps_what_the_kpis_count(cast):
    lead = _consented_lead(email=EMAIL, company="Quix", company_size=300, country="DE")
    lead.stage, lead.fit_score, lead.grade = "mql", 30, "B"
    lead.save(update_fields=["stage", "fit_score", "grade"])

    handoff_services.person_erase(lead_id=lead.pk, actor=cast.marketer, ip=None)
    lead_score(lead_id=lead.pk)  # a re-score (rule change, sweeper) leaves it alone

    lead.refresh_from_db()
    touch = Touchpoint.objects.get(lead=lead)
    assert (lead.company, lead.company_size, lead.country) == ("Quix", 300, "DE")
    assert (lead.stage, lead.fit_score, lead.grade) == ("mql", 30, "B")
    assert touch.utm_source == "newsletter"
    assert (touch.referrer, touch.landing_page, touch.gclid) == ("", "", "")
    assert ConsentRecord.objects.get(lead=lead).ip is None


def test_erasure_needs_the_typed_confirmation(cast):
    lead = _consented_lead(email=EMAIL)
    client = login(cast.marketer)

    response = client.post(
        reverse("handoff:lead_erase", args=[lead.pk]), {"confirm": "yes"}, follow=True
    )

    assert "type ERASE in the box" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).email == EMAIL
    assert not AuditEntry.objects.filter(action__startswith="lead.").exists()


def test_erasing_twice_is_refused_with_a_message(cast):
    lead = _consented_lead(email=EMAIL)
    client = login(cast.manager)
    url = reverse("handoff:lead_erase", args=[lead.pk])
    client.post(url, {"confirm": "ERASE"})

    response = client.post(url, {"confirm": "ERASE"}, follow=True)

    assert "already erased" in response.content.decode()
    assert AuditEntry.objects.filter(action="lead.erase").count() == 1


def test_an_erased_person_is_not_captured_again_by_the_next_form_post(cast):
    lead = _consented_lead(email=EMAIL)
    handoff_services.person_erase(lead_id=lead.pk, actor=cast.marketer, ip=None)
    form = FormFactory.create()
    leads = Lead.objects.count()

    Client().post(
        reverse("marketing:public_form", args=[form.key]),
        {"email": EMAIL, "last_name": LAST},
        REMOTE_ADDR="198.51.100.8",
    )

    assert Lead.objects.count() == leads
    assert _text_columns_containing(EMAIL) == []


def test_the_erased_lead_page_says_so_and_offers_no_second_erasure(cast):
    lead = _consented_lead(email=EMAIL)
    handoff_services.person_erase(lead_id=lead.pk, actor=cast.marketer, ip=None)
    page = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk])).content.decode()
    assert "data was erased (" in page
    assert reverse("handoff:lead_erase", args=[lead.pk]) not in page
