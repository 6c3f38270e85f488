from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from handoff import services as handoff_services
from handoff.models import Handoff
from leadflow.errors import ConflictError
from leadflow.models import AuditEntry, Event
from marketing import duplicates
from marketing.models import ConsentRecord, Lead, ScoreEntry, ScoringRule, Touchpoint
from sales.models import Contact, Touch
from tests.conftest import login
from tests.factories import HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_pairs():
    """Each test starts without the cached list (a rolled-back test's pairs linger)."""
    cache.delete(duplicates._pairs_cache_key())
    yield
    cache.delete(duplicates._pairs_cache_key())


def _pair_ids(page: duplicates.DuplicatePage) -> dict[tuple[int, int], list[str]]:
    return {(pair.first.pk, pair.second.pk): pair.reasons for pair in page.pairs}


def test_pairs_with_the_same_phone_name_and_company_or_a_similar_email_are_listed(cast):
    phone_a = LeadFactory.create(phone="+4930123456")
    phone_b = LeadFactory.create(phone="+4930123456")
    name_a = LeadFactory.create(first_name="Chris", last_name="Kowalski", company="Northwind")
    name_b = LeadFactory.create(first_name="christopher", last_name="kowalski", company="NORTHWIND")
    dots_a = LeadFactory.create(email="j.smith+news@contoso.com")
    dots_b = LeadFactory.create(email="jsmith@contoso.com")
    domain_a = LeadFactory.create(email="anna.berg@fabrikam.com")
    domain_b = LeadFactory.create(email="anna.berg@gmail.com")
    # Not evidence: role mailboxes at two companies, short local parts, colleagues.
    LeadFactory.create(email="info@one.com")
    LeadFactory.create(email="info@two.com")
    LeadFactory.create(email="al@one.com")
    LeadFactory.create(email="al@two.com")
    LeadFactory.create(first_name="Chris", last_name="Kowalski", company="Contoso")
    LeadFactory.create(first_name="Emily", last_name="Baker", company="Oakridge")
    LeadFactory.create(first_name="Tom", last_name="Baker", company="Oakridge")
    LeadFactory.create(email="fleur@bramblecloud.nl")  # a first name at two companies
    LeadFactory.create(email="fleur@sierrarealty.nl")

    found = _pair_ids(duplicates.duplicate_pairs())

    assert found == {
        (phone_a.pk, phone_b.pk): ["phone"],
        (name_a.pk, name_b.pk): ["name_company"],
        (dots_a.pk, dots_b.pk): ["email"],
        (domain_a.pk, domain_b.pk): ["email"],
    }


def test_a_pair_matching_on_several_keys_is_listed_once_with_every_reason(cast):
    same = {"phone": "+4930999", "first_name": "Al", "last_name": "Berg", "company": "Acme"}
    a = LeadFactory.create(email="ab@x.com", **same)
    b = LeadFactory.create(email="a.b@x.com", **same)
    assert _pair_ids(duplicates.duplicate_pairs()) == {
        (a.pk, b.pk): ["email", "name_company", "phone"]
    }


def test_erased_leads_and_switchboard_phones_are_left_out(cast):
    LeadFactory.create(phone="+4930111")
    LeadFactory.create(phone="+4930111", erased_at=timezone.now())
    Lead.objects.bulk_create(
        [
            Lead(email=f"desk{n}@bigco.com", phone="+4930777", company=f"C{n}")
            for n in range(duplicates.MAX_GROUP + 1)
        ]
    )
    assert duplicates.duplicate_pairs().total == 0


def test_the_screen_pages_through_pairs_and_htmx_gets_only_the_rows(cast):
    Lead.objects.bulk_create(
        [
            Lead(email=f"p{n}-{side}@example{side}.com", phone=f"+49301000{n:03d}")
            for n in range(55)
            for side in (1, 2)
        ]
    )
    client = login(cast.marketer)

    first = client.get(reverse("marketing:duplicates"))
    second = client.get(reverse("marketing:duplicates"), {"page": 2}, HTTP_HX_REQUEST="true")

    assert first.status_code == 200
    assert len(first.context["result"].pairs) == 50
    assert "55 likely pairs" in first.content.decode()
    assert len(second.context["result"].pairs) == 5
    assert b"<html" not in second.content
    assert "Page 2 of 2" in second.content.decode()


def test_the_screen_costs_the_same_queries_for_few_or_many_pairs(cast):
    def make(count: int, offset: int) -> None:
        Lead.objects.bulk_create(
            [
                Lead(email=f"q{offset + n}-{s}@ex{s}.com", phone=f"+4940{offset + n:05d}")
                for n in range(count)
                for s in (1, 2)
            ]
        )

    client = login(cast.marketer)
    url = reverse("marketing:duplicates")
    make(2, 0)
    client.get(url)  # warm the session and user caches
    with CaptureQueriesContext(connection) as few_queries:
        few = client.get(url, {"refresh": "1"})
    make(30, 100)
    with CaptureQueriesContext(connection) as many_queries:
        many = client.get(url, {"refresh": "1"})

    assert (few.context["result"].total, many.context["result"].total) == (2, 32)
    assert len(many_queries) == len(few_queries)
    # session, user, the pairs (under a time limit, in a savepoint) and their leads
    assert len(few_queries) <= 7


def test_the_list_is_kept_a_while_and_merged_pairs_leave_it_at_once(cast):
    a, b = LeadFactory.create(phone="+4930666"), LeadFactory.create(phone="+4930666")
    client = login(cast.marketer)
    url = reverse("marketing:duplicates")
    assert client.get(url).context["result"].total == 1
    c, d = LeadFactory.create(phone="+4930667"), LeadFactory.create(phone="+4930667")

    client.post(reverse("handoff:lead_merge", args=[a.pk, b.pk]), {"keep": a.pk})
    cached = client.get(url).context["result"]
    fresh = client.get(url, {"refresh": "1"}).context["result"]

    assert cached.pairs == []  # c/d are not in the list of a minute ago; a/b are merged
    assert [(p.first.pk, p.second.pk) for p in fresh.pairs] == [(c.pk, d.pk)]


def test_the_duplicates_of_one_lead_and_the_empty_state(cast):
    lead = LeadFactory.create(phone="+4930222")
    twin = LeadFactory.create(phone="+4930222")
    LeadFactory.create(phone="+4930333")
    LeadFactory.create(phone="+4930333")
    loner = LeadFactory.create()
    client = login(cast.marketer)

    mine = client.get(reverse("marketing:duplicates"), {"lead": lead.pk})
    none = client.get(reverse("marketing:duplicates"), {"lead": loner.pk})

    assert _pair_ids(mine.context["result"]) == {(lead.pk, twin.pk): ["phone"]}
    assert "No likely duplicates of this lead." in none.content.decode()


def test_reps_cannot_see_duplicates_or_merge(cast):
    a, b = LeadFactory.create(phone="+4930444"), LeadFactory.create(phone="+4930444")
    client = login(cast.rep)
    assert client.get(reverse("marketing:duplicates")).status_code == 403
    merge = reverse("handoff:lead_merge", args=[a.pk, b.pk])
    assert client.get(merge).status_code == 403
    assert client.post(merge, {"keep": a.pk}).status_code == 403
    assert Lead.objects.count() == 2


# --- Merge -----------------------------------------------------------------------------


def _twins():
    older = LeadFactory.create(
        email="ann.lee@acme.com", first_name="Ann", last_name="Lee", phone="", company="Acme"
    )
    newer = LeadFactory.create(
        email="ann@lee.family",
        first_name="Annabel",
        last_name="Lee",
        phone="+4930555",
        company="Acme",
        job_title="CTO",
        external_id="hub-7",
    )
    Lead.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=30))
    rule = ScoringRule.objects.filter(axis="engagement").first()
    for lead, days in ((older, 30), (newer, 2), (newer, 1)):
        touch = Touchpoint.objects.create(lead=lead, kind="form_submit")
        Touchpoint.objects.filter(pk=touch.pk).update(
            created_at=timezone.now() - timedelta(days=days)
        )
        if rule:
            ScoreEntry.objects.create(
                lead=lead, rule=rule, touchpoint=touch, axis="engagement", points=10
            )
    ConsentRecord.objects.create(lead=newer, source="form")
    older.refresh_from_db()
    newer.refresh_from_db()
    return older, newer


def test_the_merge_page_shows_both_side_by_side_with_sensible_defaults(cast):
    older, newer = _twins()
    response = login(cast.marketer).get(reverse("handoff:lead_merge", args=[newer.pk, older.pk]))

    assert response.status_code == 200
    assert response.context["survivor"] == older  # the older record stays by default
    rows = {row["name"]: row for row in response.context["rows"]}
    assert rows["first_name"]["take_other"] is False  # both set: keep the survivor's
    assert rows["phone"]["take_other"] is True  # the survivor's is empty
    assert rows["last_name"]["same"] is True
    page = response.content.decode()
    assert "ann@lee.family" in page
    assert f"Merge #{newer.pk} into #{older.pk}" in page


def test_merge_keeps_the_chosen_values_every_touchpoint_and_is_audited(cast):
    older, newer = _twins()
    client = login(cast.marketer)

    response = client.post(
        reverse("handoff:lead_merge", args=[older.pk, newer.pk]),
        {
            "keep": older.pk,
            "email": newer.pk,  # the survivor takes the other's (unique) address
            "first_name": older.pk,
            "phone": newer.pk,
            "job_title": newer.pk,
            "external_id": newer.pk,
        },
    )

    assert response["Location"] == reverse("marketing:lead", args=[older.pk])
    assert not Lead.objects.filter(pk=newer.pk).exists()
    merged = Lead.objects.get(pk=older.pk)
    assert (merged.email, merged.first_name, merged.phone, merged.job_title) == (
        "ann@lee.family",
        "Ann",
        "+4930555",
        "CTO",
    )
    assert merged.external_id == "hub-7"
    touches = list(Touchpoint.objects.filter(lead=merged).order_by("created_at"))
    assert len(touches) == 3
    assert (merged.first_touch_id, merged.last_touch_id) == (touches[0].pk, touches[-1].pk)
    assert ConsentRecord.objects.filter(lead=merged).count() == 1
    assert ScoreEntry.objects.filter(lead=merged).count() == ScoreEntry.objects.count()
    assert merged.scored_at is None  # the worker re-scores the merged ledger
    event = Event.objects.get(subject_type="marketing.lead", subject_id=older.pk, kind="merged")
    assert (event.actor, event.old_value) == (cast.marketer, str(newer.pk))
    audit = AuditEntry.objects.get(action="lead.merge")
    assert audit.subject_id == older.pk
    assert audit.detail["merged_id"] == newer.pk
    assert audit.detail["fields_from_merged"] == ["email", "external_id", "job_title", "phone"]
    assert "ann@lee.family" not in str(audit.detail)


def test_merge_can_keep_the_newer_record_instead(cast):
    older, newer = _twins()
    login(cast.manager).post(
        reverse("handoff:lead_merge", args=[older.pk, newer.pk]), {"keep": newer.pk}
    )
    merged = Lead.objects.get()
    assert merged.pk == newer.pk
    assert merged.email == "ann@lee.family"
    # The person is counted from their first appearance.
    assert merged.created_at == older.created_at


def test_merge_moves_the_handoffs_and_sales_records_of_the_merged_lead(cast):
    older, newer = _twins()
    Lead.objects.filter(pk=newer.pk).update(stage="sql", owner=cast.rep)
    handoff = HandoffFactory.create(lead=newer, team=cast.team, assigned_to=cast.rep)
    handoff_services.handoff_log_touch(handoff_id=handoff.pk, user=cast.rep, kind="note")

    login(cast.marketer).post(
        reverse("handoff:lead_merge", args=[older.pk, newer.pk]), {"keep": older.pk}
    )

    merged = Lead.objects.get(pk=older.pk)
    assert Handoff.objects.get(pk=handoff.pk).lead_id == older.pk
    assert Touch.objects.get().lead_id == older.pk
    # The lifecycle follows the lead that was further along.
    assert (merged.stage, merged.owner) == ("sql", cast.rep)
    assert AuditEntry.objects.get(action="lead.merge").detail["handoffs_moved"] == 1


def test_two_leads_both_with_sales_cannot_be_merged_and_nothing_changes(cast):
    older, newer = _twins()
    HandoffFactory.create(lead=older, team=cast.team)
    HandoffFactory.create(lead=newer, team=cast.team)

    response = login(cast.marketer).post(
        reverse("handoff:lead_merge", args=[older.pk, newer.pk]), {"keep": older.pk}
    )

    assert response.status_code == 409
    assert "reject one of them as a duplicate" in response.content.decode()
    assert Lead.objects.count() == 2
    assert Touchpoint.objects.filter(lead=newer).count() == 2
    assert not AuditEntry.objects.filter(action__startswith="lead.").exists()


def test_marketing_alone_refuses_to_delete_a_lead_that_sales_still_points_at(cast):
    older, newer = _twins()
    HandoffFactory.create(lead=newer, team=cast.team)
    Contact.objects.create(account_id=_account().pk, lead=newer, email="x@acme.com")

    with pytest.raises(ConflictError, match="still referenced"):
        duplicates.lead_merge(
            survivor_id=older.pk, other_id=newer.pk, take_from_other=[], actor=cast.marketer
        )
    assert Lead.objects.count() == 2


def _account():
    from sales.models import Account

    return Account.objects.create(name="Acme", domain="acme.com")


def test_a_lead_merged_away_meanwhile_gives_404_not_an_error(cast):
    older, newer = _twins()
    client = login(cast.marketer)
    url = reverse("handoff:lead_merge", args=[older.pk, newer.pk])
    client.post(url, {"keep": older.pk})
    assert client.post(url, {"keep": older.pk}).status_code == 404
    assert client.get(url).status_code == 404


def test_an_erased_lead_cannot_be_merged(cast):
    older, newer = _twins()
    handoff_services.person_erase(lead_id=newer.pk, actor=cast.marketer, ip=None)
    response = login(cast.marketer).post(
        reverse("handoff:lead_merge", args=[older.pk, newer.pk]), {"keep": older.pk}
    )
    assert response.status_code == 400
    assert "An erased lead cannot be merged." in response.content.decode()
    assert Lead.objects.count() == 2


def test_a_list_that_takes_too_long_says_so_instead_of_hanging(cast, monkeypatch):
    monkeypatch.setattr(duplicates, "PAIRS_TIMEOUT_MS", 100)
    monkeypatch.setattr(duplicates, "_PAIRS_SQL", "SELECT 1, 2, ARRAY['phone'], 1 FROM pg_sleep(2)")

    response = login(cast.marketer).get(reverse("marketing:duplicates"))

    assert response.status_code == 200
    assert "Comparing all leads took too long" in response.content.decode()
