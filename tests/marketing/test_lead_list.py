"""The marketer's lead list (filters, search, keyset pages, counts) and the lead page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core import signing
from django.db import connection
from django.db.models import Value
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leadflow.models import Event, Role
from leadflow.services import event_record
from marketing import selectors
from marketing.models import Lead, Stage, Touchpoint
from marketing.selectors import listing
from tests.conftest import login
from tests.factories import CampaignFactory, FormFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("marketing:leads")


def aged(lead: Lead, **delta) -> Lead:
    """Move a lead's creation into the past (created_at is auto_now_add)."""
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(**delta))
    lead.refresh_from_db()
    return lead


def shown(response) -> list[int]:
    return [lead.pk for lead in response.context["page"].leads]


def link(response, rel: str) -> str:
    """The href of the page link rel="next"/"prev", or "" when there is none."""
    found = re.search(rf'rel="{rel}" href="([^"]+)"', response.content.decode())
    return unescape(found.group(1)) if found else ""


def walk(client, first_url: str, rel: str = "next") -> list[list[int]]:
    """Follow the page links from ``first_url`` to the end; the ids of each page."""
    pages, url = [], first_url
    while url:
        response = client.get(url if url.startswith("/") else URL + url)
        assert response.status_code == 200
        pages.append(shown(response))
        url = link(response, rel)
    return pages


# --- Filters and search -------------------------------------------------------------


def test_each_filter_narrows_the_list_to_the_matching_leads(cast):
    spring, autumn = CampaignFactory.create(), CampaignFactory.create()
    target = LeadFactory.create(
        stage=Stage.MQL, campaign=spring, source="linkedin", owner=cast.rep, grade="A"
    )
    other_stage = LeadFactory.create(
        stage=Stage.LEAD, campaign=spring, source="linkedin", owner=cast.rep, grade="A"
    )
    other_campaign = LeadFactory.create(
        stage=Stage.MQL, campaign=autumn, source="linkedin", owner=cast.rep, grade="A"
    )
    other_source = LeadFactory.create(
        stage=Stage.MQL, campaign=spring, source="google", owner=cast.rep, grade="A"
    )
    unowned = LeadFactory.create(
        stage=Stage.MQL, campaign=spring, source="linkedin", owner=None, grade="A"
    )
    other_grade = LeadFactory.create(
        stage=Stage.MQL, campaign=spring, source="linkedin", owner=cast.rep, grade="C"
    )
    old = aged(
        LeadFactory.create(
            stage=Stage.MQL, campaign=spring, source="linkedin", owner=cast.rep, grade="A"
        ),
        days=40,
    )
    client = login(cast.marketer)

    def ids(**params) -> set[int]:
        response = client.get(URL, params)
        assert response.status_code == 200
        return set(shown(response))

    everyone = {target.pk, other_stage.pk, other_campaign.pk, other_source.pk}
    everyone |= {unowned.pk, other_grade.pk, old.pk}
    assert ids() == everyone
    assert other_stage.pk not in ids(stage="mql")
    assert ids(campaign=autumn.pk) == {other_campaign.pk}
    assert ids(source="Google") == {other_source.pk}  # any case
    assert ids(owner="none") == {unowned.pk}
    assert unowned.pk not in ids(owner=cast.rep.pk)
    assert ids(grade="C") == {other_grade.pk}
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert old.pk not in ids(created_from=since)
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert ids(created_to=until) == {old.pk}
    assert ids(
        stage="mql",
        campaign=spring.pk,
        source="linkedin",
        owner=cast.rep.pk,
        grade="A",
        created_from=since,
    ) == {target.pk}


def test_a_date_range_includes_its_last_day(cast):
    today = LeadFactory.create()
    response = login(cast.marketer).get(
        URL, {"created_from": timezone.localdate().isoformat(), "created_to": ""}
    )
    assert shown(response) == [today.pk]
    response = login(cast.marketer).get(URL, {"created_to": timezone.localdate().isoformat()})
    assert shown(response) == [today.pk]


def test_search_finds_every_word_in_name_email_or_company_in_any_case(cast):
    anna = LeadFactory.create(first_name="Anna", last_name="Ivanova", company="Northwind")
    LeadFactory.create(first_name="Anna", last_name="Smith", company="Contoso")
    by_email = LeadFactory.create(email="boss@fabrikam.example", company="Other")
    client = login(cast.marketer)

    assert shown(client.get(URL, {"q": "anna ivanova"})) == [anna.pk]
    assert shown(client.get(URL, {"q": "NORTH"})) == [anna.pk]
    assert shown(client.get(URL, {"q": "fabrikam"})) == [by_email.pk]


def test_a_whole_email_address_finds_exactly_that_person(cast):
    person = LeadFactory.create(email="jo@acme.example")
    LeadFactory.create(email="jo@acme.example.org")
    response = login(cast.marketer).get(URL, {"q": "  Jo@ACME.example "})
    assert shown(response) == [person.pk]


def test_a_bad_filter_is_left_out_with_a_message_and_the_others_still_apply(cast):
    mql = LeadFactory.create(stage=Stage.MQL)
    LeadFactory.create(stage=Stage.LEAD)
    response = login(cast.marketer).get(
        URL,
        {
            "stage": "mql",
            "campaign": "not-a-number",
            "created_from": "2026-05-10",
            "created_to": "2026-05-01",
            "cursor": "garbage",
        },
    )
    assert response.status_code == 200
    assert shown(response) == [mql.pk]
    page = response.content.decode()
    assert "The end date is before the start date." in page
    assert "This filter is not applied." in page


@pytest.mark.parametrize(
    "params",
    [
        {"created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
        {"campaign": "99999999999999999999"},
        {"owner": "-1"},
        {"sort": "price"},
        {"q": "x" * 500},
        {"stage": ["mql", "sql"]},
    ],
)
def test_odd_filter_values_never_break_the_page(cast, params):
    LeadFactory.create()
    response = login(cast.marketer).get(URL, params)
    assert response.status_code == 200


def test_no_match_says_so_and_offers_to_clear_the_filters(cast):
    LeadFactory.create(company="Northwind")
    page = login(cast.marketer).get(URL, {"q": "zzzz-nothing"}).content.decode()
    assert "No leads match these filters." in page
    assert f'href="{URL}"' in page


def test_an_empty_list_says_how_leads_arrive(cast):
    page = login(cast.marketer).get(URL).content.decode()
    assert "No leads yet." in page
    assert reverse("marketing:campaigns") in page


def test_htmx_gets_the_rows_only_and_a_history_restore_the_whole_page(cast):
    LeadFactory.create(company="Contoso", stage="lead")
    client = login(cast.marketer)
    rows = client.get(URL, {"stage": "lead"}, headers={"HX-Request": "true"})
    restore = client.get(
        URL,
        {"stage": "lead"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert b"<html" not in rows.content
    assert b"Contoso" in rows.content
    assert b"<html" in restore.content


def test_only_marketing_roles_open_the_lead_list(cast):
    assert login(cast.rep).get(URL).status_code == 403
    assert login(cast.manager).get(URL).status_code == 200
    assert login(cast.admin).get(URL).status_code == 200


# --- Keyset pages ---------------------------------------------------------------------


def make_leads(count: int, *, tied_times: bool = True) -> list[Lead]:
    """``count`` leads with scores in few values and creation times in pairs, so that
    pages must break ties on id."""
    leads = LeadFactory.create_batch(count)
    now = timezone.now()
    for index, lead in enumerate(leads):
        Lead.objects.filter(pk=lead.pk).update(
            created_at=now - timedelta(minutes=index // 2 if tied_times else index),
            fit_score=(index % 4) * 5,
            engagement_score=index % 3,
        )
    return leads


@pytest.mark.parametrize(
    ("sort", "order"),
    [("newest", ("-created_at", "-id")), ("score", ("-score", "-id"))],
)
def test_next_pages_cover_every_lead_once_in_sort_order(cast, sort, order):
    make_leads(123)
    expected = list(Lead.objects.order_by(*order).values_list("pk", flat=True))
    client = login(cast.marketer)

    pages = walk(client, f"{URL}?sort={sort}")

    assert [len(page) for page in pages] == [50, 50, 23]
    assert [pk for page in pages for pk in page] == expected


def test_previous_pages_lead_back_to_the_same_pages(cast):
    make_leads(123)
    client = login(cast.marketer)
    forward = walk(client, f"{URL}?sort=score")
    last_page = client.get(f"{URL}?sort=score")
    for _ in range(2):
        last_page = client.get(URL + link(last_page, "next"))

    backward = walk(client, URL + link(last_page, "prev"), rel="prev")

    assert backward == [forward[1], forward[0]]
    assert client.get(URL + link(last_page, "prev")).context["page"].number == 2


def test_a_new_lead_does_not_shift_the_next_page(cast):
    make_leads(60, tied_times=False)
    client = login(cast.marketer)
    first = client.get(URL)
    expected_second = list(
        Lead.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[50:]
    )
    LeadFactory.create()  # arrives while the marketer reads page 1

    second = client.get(URL + link(first, "next"))

    assert shown(second) == expected_second


def test_the_filters_survive_paging(cast):
    campaign = CampaignFactory.create()
    for lead in make_leads(120):
        if lead.pk % 2:
            Lead.objects.filter(pk=lead.pk).update(campaign=campaign, stage=Stage.MQL)
    client = login(cast.marketer)
    first = client.get(URL, {"campaign": campaign.pk, "stage": "mql", "sort": "score"})

    pages = walk(client, URL + link(first, "next"))

    assert f"campaign={campaign.pk}" in link(first, "next")
    matching = Lead.objects.filter(campaign=campaign, stage=Stage.MQL)
    assert sorted(shown(first) + pages[0]) == sorted(matching.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        signing.dumps({"s": "newest", "k": ["2020-01-01T00:00:00+00:00", 1], "p": 3, "b": False}),
        signing.dumps(
            {"s": "newest", "k": ["yesterday", 1], "p": 2, "b": False},
            salt="marketing.lead_list.cursor",
        ),
        signing.dumps({"s": "newest", "k": [1], "p": 2}, salt="marketing.lead_list.cursor"),
        signing.dumps(["not", "a", "dict"], salt="marketing.lead_list.cursor"),
    ],
    # Signed values carry a timestamp: fixed ids keep the xdist workers' collections equal.
    ids=["garbage", "unsalted", "bad-key", "short-key", "not-a-dict"],
)
def test_a_bad_or_foreign_cursor_gives_the_first_page(cast, cursor):
    make_leads(55)
    response = login(cast.marketer).get(URL, {"cursor": cursor})
    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert shown(response) == list(
        Lead.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[:50]
    )


def test_a_cursor_of_the_other_sort_order_gives_the_first_page(cast):
    make_leads(55)
    client = login(cast.marketer)
    by_score = client.get(URL, {"sort": "score"})
    cursor = re.search(r"cursor=([^&\"]+)", link(by_score, "next")).group(1)

    newest = client.get(URL, {"sort": "newest", "cursor": cursor})

    assert newest.context["page"].number == 1


def test_the_lead_list_queries_do_not_grow_with_the_rows(cast):
    campaigns = CampaignFactory.create_batch(3)
    owners = UserFactory.create_batch(3, role=Role.REP)

    def queries(lead_count: int, params: dict) -> int:
        Lead.objects.all().delete()
        for index, lead in enumerate(make_leads(lead_count)):
            Lead.objects.filter(pk=lead.pk).update(
                campaign=campaigns[index % 3], owner=owners[index % 3], stage=Stage.MQL
            )
        client = login(cast.marketer)
        client.get(URL)  # the session is loaded once per client; warm it
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, params)
        assert response.status_code == 200
        assert len(response.context["page"].leads) == 50
        return len(captured)

    for params in ({}, {"stage": "mql", "q": "acme", "sort": "score"}):
        assert queries(60, params) == queries(180, params)
        assert queries(60, params) <= 12


# --- Counts ---------------------------------------------------------------------------


def count_text(response) -> str:
    found = re.search(r'<strong class="lead-count">(.*?)</strong>', response.content.decode(), re.S)
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_a_short_list_shows_its_exact_count(cast):
    LeadFactory.create_batch(3)
    assert count_text(login(cast.marketer).get(URL)) == "3 leads"
    assert count_text(login(cast.marketer).get(URL, {"q": "nobody-here"})) == "0 leads"


def test_a_filtered_count_stops_at_the_cap(cast, monkeypatch):
    monkeypatch.setattr(listing, "LEAD_COUNT_CAP", 10)
    make_leads(60)
    Lead.objects.update(stage=Stage.MQL)
    LeadFactory.create(stage=Stage.LEAD)
    client = login(cast.marketer)
    assert count_text(client.get(URL, {"stage": "mql"})) == "10+ leads"
    monkeypatch.setattr(listing, "LEAD_COUNT_CAP", 100)
    assert count_text(client.get(URL, {"stage": "mql"})) == "60 leads"


def test_the_unfiltered_count_is_the_planners_estimate_once_the_table_is_large(cast, monkeypatch):
    monkeypatch.setattr(listing, "LEAD_COUNT_CAP", 10)
    make_leads(60)
    client = login(cast.marketer)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketing_lead")
    assert count_text(client.get(URL)) == "About 60 leads"


def test_a_count_that_takes_too_long_is_given_up_and_the_page_still_shows(cast, monkeypatch):
    monkeypatch.setattr(listing, "LEAD_COUNT_TIMEOUT_MS", 20)
    real_list = selectors.lead_list

    def slow_list(**filters):
        # Each row costs 5 ms: counting 60 rows takes longer than the 20 ms allowed.
        return (
            real_list(**filters)
            .alias(slow=RawSQL("pg_sleep(0.005)::text", []))
            .filter(slow=Value(""))
        )

    monkeypatch.setattr(selectors, "lead_list", slow_list)
    make_leads(60)
    response = login(cast.marketer).get(URL, {"stage": "lead"})
    assert response.status_code == 200
    assert count_text(response).startswith("50+ leads (too many to count quickly")
    assert len(shown(response)) == 50
    # A later page proves more: the rows of the pages up to it.
    second = login(cast.marketer).get(URL + link(response, "next"))
    assert count_text(second).startswith("60+ leads")
    # The cancelled count left the connection usable, with its own time limit.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


# --- The lead page --------------------------------------------------------------------


def touch(lead: Lead, *, days_ago: int = 0, **fields) -> Touchpoint:
    created = Touchpoint.objects.create(lead=lead, **fields)
    Touchpoint.objects.filter(pk=created.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    created.refresh_from_db()
    return created


def test_the_lead_page_shows_first_and_last_touch_with_their_attribution(cast):
    form = FormFactory.create(campaign__name="Spring search", name="Demo form")
    lead = LeadFactory.create(campaign=form.campaign)
    first = touch(
        lead,
        days_ago=3,
        kind=Touchpoint.Kind.FORM_SUBMIT,
        campaign=form.campaign,
        form=form,
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring",
        utm_term="crm",
        gclid="Cj0KCQ",
        referrer="https://www.google.com/",
        landing_page="https://example.com/pricing?utm_source=google",
    )
    last = touch(lead, kind=Touchpoint.Kind.EMAIL_CLICK, utm_source="newsletter", fbclid="IwAR1")
    Lead.objects.filter(pk=lead.pk).update(first_touch=first, last_touch=last)

    response = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk]))

    assert response.status_code == 200
    assert (response.context["first_touch"], response.context["last_touch"]) == (first, last)
    section = response.content.decode().split('id="attribution"')[1].split("</section>")[0]
    for text in (
        "Spring search",
        "Demo form",
        "utm_source=google",
        "utm_medium=cpc",
        "utm_campaign=spring",
        "utm_term=crm",
        "gclid=Cj0KCQ",
        "https://www.google.com/",
        "https://example.com/pricing?utm_source=google",
        "utm_source=newsletter",
        "fbclid=IwAR1",
    ):
        assert text in unescape(section), text


def test_a_lead_without_recorded_touches_falls_back_to_its_touchpoints(cast):
    lead = LeadFactory.create()
    first = touch(lead, days_ago=5, kind=Touchpoint.Kind.PAGE_VIEW, utm_source="bing")
    last = touch(lead, days_ago=1, kind=Touchpoint.Kind.WEBINAR)
    response = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk]))
    assert (response.context["first_touch"], response.context["last_touch"]) == (first, last)


def test_the_timeline_groups_by_day_newest_first_and_says_who_or_which_rule_and_why(cast):
    lead = LeadFactory.create()
    touch(lead, days_ago=2, kind=Touchpoint.Kind.FORM_SUBMIT, utm_source="google")
    event_record(
        subject_type="marketing.lead",
        subject_id=lead.pk,
        kind=Event.Kind.STAGE,
        rule="scoring: MQL thresholds",
        reason="grade B, engagement 55 ≥ 50",
        old_value="lead",
        new_value="mql",
    )
    event_record(
        subject_type="marketing.lead",
        subject_id=lead.pk,
        kind=Event.Kind.SCORE,
        rule="scoring",
        old_value="D 0/0",
        new_value="B 30/45",
    )
    event_record(
        subject_type="marketing.lead",
        subject_id=lead.pk,
        kind=Event.Kind.OWNER,
        actor=cast.manager,
        reason="took it over",
        new_value="rep",
    )

    response = login(cast.marketer).get(reverse("marketing:lead", args=[lead.pk]))

    timeline = response.context["timeline"]
    assert [len(day.entries) for day in timeline.days] == [3, 1]
    assert timeline.days[0].day == timezone.localdate()
    assert timeline.days[0].entries[0].event.kind == Event.Kind.OWNER
    section = unescape(response.content.decode().split('id="timeline"')[1])
    assert "Lead → MQL" in section
    assert "D (fit 0, engagement 0) → B (fit 30, engagement 45)" in section
    assert "by rule “scoring: MQL thresholds”" in section
    assert "why: grade B, engagement 55 ≥ 50" in section
    assert f"by {cast.manager.get_full_name()}" in section
    assert "why: took it over" in section
    assert "Today" in section


def test_a_long_history_shows_the_latest_entries_and_says_older_ones_are_left_out(cast):
    lead = LeadFactory.create()
    for days in range(5):
        touch(lead, days_ago=days, kind=Touchpoint.Kind.PAGE_VIEW)

    timeline = selectors.lead_timeline(lead=lead, limit=3)

    assert timeline.truncated
    assert [entry.at.date() for day in timeline.days for entry in day.entries] == [
        (timezone.now() - timedelta(days=days)).date() for days in range(3)
    ]
