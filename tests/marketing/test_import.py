"""CSV import: column detection, row checks, the set-wise job, the pages."""

from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path

import phonenumbers
import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS

from leadflow.errors import ApplicationError
from leadflow.models import Event
from marketing import imports, tasks
from marketing.imports import run as import_sql
from marketing.models import ImportJob, Lead, Suppression, Touchpoint
from marketing.selectors import email_hash
from marketing.services import normalize_phone
from tests.conftest import database_url, login
from tests.factories import CampaignFactory, LeadFactory

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def make_job(user, content: bytes, *, name="leads.csv", campaign=None, mode="update") -> ImportJob:
    job = imports.import_create(
        created_by=user, upload=upload(name, content), campaign=campaign, mode=mode
    )
    return imports.import_start(
        job_id=job.pk, mapping=job.mapping, mode=mode, campaign=campaign, language="en"
    )


def run(job: ImportJob) -> ImportJob:
    """The Celery task's function, called as the worker calls it."""
    tasks.run_import(job.pk, "en")
    job.refresh_from_db()
    return job


def report_rows(job: ImportJob) -> list[list[str]]:
    with job.errors_file.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


HEADER = ["Email", "First Name", "Last Name", "Company", "Phone", "Country", "Employees"]


def person(n: int, **changes: str) -> list[str]:
    row = {
        "Email": f"person{n}@company{n}.example",
        "First Name": f"First{n}",
        "Last Name": f"Last{n}",
        "Company": f"Company {n}",
        "Phone": f"+1 415 555 {n:04d}",
        "Country": "US",
        "Employees": "50",
    }
    row.update(changes)
    return [row[column] for column in HEADER]


# --- Recognising the columns -------------------------------------------------------------


def test_a_salesforce_lead_export_maps_without_help():
    with (DATA / "salesforce_leads.csv").open("rb") as handle:
        layout = imports.layout_detect(handle)
    mapping = imports.mapping_detect(layout.headers)
    assert {header: field for header, field in mapping.items() if field} == {
        "Lead ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "job_title",
        "Company": "company",
        "Email": "email",
        "Phone": "phone",
        "No. of Employees": "company_size",
        "Lead Source": "source",
        "Country": "country",
    }
    assert mapping["Mobile"] == ""  # the phone is taken by "Phone"
    assert (layout.encoding, layout.delimiter, layout.rows_estimate) == ("utf-8", ",", 3)


def test_a_hubspot_contact_export_maps_without_help():
    with (DATA / "hubspot_contacts.csv").open("rb") as handle:
        layout = imports.layout_detect(handle)
    mapping = imports.mapping_detect(layout.headers)
    assert {header: field for header, field in mapping.items() if field} == {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Job Title": "job_title",
        "Company Name": "company",
        "Number of Employees": "company_size",
        "Country/Region": "country",
        "Original Source": "source",
    }


def test_russian_headers_in_a_windows_1251_file_with_semicolons_map_and_import(cast):
    with (DATA / "russian_leads_cp1251.csv").open("rb") as handle:
        layout = imports.layout_detect(handle)
    assert (layout.encoding, layout.delimiter) == ("cp1251", ";")
    assert imports.mapping_detect(layout.headers) == {
        "Имя": "first_name",
        "Фамилия": "last_name",
        "Эл. почта": "email",
        "Телефон": "phone",
        "Компания": "company",
        "Должность": "job_title",
        "Страна": "country",
        "Количество сотрудников": "company_size",
    }

    job = run(make_job(cast.marketer, (DATA / "russian_leads_cp1251.csv").read_bytes()))

    assert (job.status, job.created_count, job.error_count) == ("done", 2, 0)
    ivan = Lead.objects.get(email="ivan.petrov@primer.example")
    assert (ivan.first_name, ivan.company, ivan.country) == ("Иван", "ООО «Пример»", "RU")  # noqa: RUF001
    assert (ivan.phone, ivan.company_size) == ("+78125551234", 1200)
    # "8 (495) …" is the Russian trunk prefix, removed as phonenumbers removes it.
    assert Lead.objects.get(email="m.sidorova@vostok.example").phone == "+74957654321"


def test_salesforce_and_hubspot_files_import_with_the_detected_mapping(cast):
    run(make_job(cast.marketer, (DATA / "salesforce_leads.csv").read_bytes()))
    job = run(make_job(cast.marketer, (DATA / "hubspot_contacts.csv").read_bytes()))

    assert job.created_count == 2
    ben = Lead.objects.get(email="ben.oneill@harborfreight.example")
    assert (ben.phone, ben.country, ben.company_size) == ("+14155550132", "US", 1200)
    assert (ben.external_id, ben.source) == ("00Q5g00000AbCdF", "Trade Show")
    assert Lead.objects.get(email="chloe.martin@lumiere.example").company_size == 51
    emma = Lead.objects.get(email="emma.walsh@brightside.example")
    assert (emma.phone, emma.country) == ("+442079460958", "GB")


def test_a_full_name_column_is_split_and_a_reversed_one_too():
    cleaner = imports.RowCleaner(["Email", "Name"], {"Email": "email", "Name": "full_name"})
    row, _ = cleaner.clean(["a@b.example", "Anna Maria Smith"])
    assert row[3:5] == ("Anna Maria", "Smith")
    reversed_cleaner = imports.RowCleaner(
        ["Email", "ФИО"], {"Email": "email", "ФИО": "full_name_reversed"}
    )
    row, _ = reversed_cleaner.clean(["a@b.example", "Иванов Иван Иванович"])
    assert row[3:5] == ("Иван Иванович", "Иванов")
    assert imports.mapping_detect(["E-Mail", "ФИО"]) == {
        "E-Mail": "email",
        "ФИО": "full_name_reversed",
    }


def test_a_mapping_without_email_or_with_a_field_twice_is_refused():
    with pytest.raises(ApplicationError, match="email"):
        imports.mapping_clean(["A", "B"], {"A": "first_name", "B": ""})
    with pytest.raises(ApplicationError, match="two columns"):
        imports.mapping_clean(["A", "B"], {"A": "email", "B": "email"})


@pytest.mark.parametrize(
    ("raw", "size"),
    [("250", 250), ("1,200", 1200), ("1 200", 1200), ("51-200", 51), ("10,001+", 10001)],
)
def test_company_sizes_are_read_as_people_write_them(raw, size):
    assert imports._company_size(raw) == size


def test_the_fast_phone_path_agrees_with_phonenumbers():
    """The fast path may only ever give phonenumbers' own answer (or pass)."""
    rng = random.Random(5)
    regions = sorted(SUPPORTED_REGIONS)
    taken = 0
    cases = []
    for region in regions:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for style in (
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ):
                text = phonenumbers.format_number(example, style)
                cases += [(text, region), (text, rng.choice(regions)), (text, "")]
            digits = list(phonenumbers.national_significant_number(example))
            digits[rng.randrange(len(digits))] = rng.choice("0123456789")
            cases += [("".join(digits), region), ("0" + "".join(digits), region)]
    for text, region in cases:
        fast = imports._phone_fast(text, region)
        if fast is None:
            continue
        taken += 1
        assert fast == normalize_phone(text, country=region), (text, region)
    assert taken > len(cases) / 3  # the fast path takes the common spellings


# --- Files that are refused ----------------------------------------------------------------


def test_an_excel_workbook_or_a_binary_file_is_refused_with_a_clear_message(cast):
    with pytest.raises(ApplicationError, match="Excel workbook"):
        imports.import_create(
            created_by=cast.marketer, upload=upload("leads.csv", b"PK\x03\x04rest-of-a-zip")
        )
    with pytest.raises(ApplicationError, match="not a CSV file"):
        imports.import_create(
            created_by=cast.marketer, upload=upload("leads.csv", b"Email\n\x00\x01\x02")
        )
    with pytest.raises(ApplicationError, match="workbook"):
        imports.import_create(created_by=cast.marketer, upload=upload("leads.xlsx", b"Email\n"))
    assert not ImportJob.objects.exists()


def test_the_upload_page_refuses_an_oversized_file_with_a_clear_error(cast, settings):
    settings.LEADFLOW_MAX_IMPORT_BYTES = 100
    content = csv_bytes([HEADER] + [person(n) for n in range(10)])
    response = login(cast.marketer).post(
        reverse("marketing:imports"), {"file": upload("big.csv", content), "mode": "update"}
    )
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not ImportJob.objects.exists()


# --- The job -----------------------------------------------------------------------------


def test_five_percent_bad_rows_import_the_rest_and_the_report_lists_exactly_those(cast):
    rows = [person(n) for n in range(100)]
    bad = {
        10: person(10, Email="not-an-address"),
        30: person(30, Phone="call reception"),
        50: person(50, Email=""),
        70: person(70, Employees="lots"),
        90: person(90, Country="Atlantis"),
    }
    for n, row in bad.items():
        rows[n] = row
    campaign = CampaignFactory.create(owner=cast.marketer)

    job = run(make_job(cast.marketer, csv_bytes([HEADER, *rows]), campaign=campaign))

    assert (job.status, job.total_rows, job.created_count, job.error_count) == ("done", 100, 95, 5)
    assert Lead.objects.count() == 95
    assert Touchpoint.objects.filter(kind="import", campaign=campaign).count() == 95
    assert Event.objects.filter(subject_type="marketing.lead", kind="created").count() == 95
    report = report_rows(job)
    assert report[0] == ["Row", "Reason", *HEADER]
    # The header is row 1: the person with index n is on row n + 2.
    assert [int(line[0]) for line in report[1:]] == [12, 32, 52, 72, 92]
    reasons = [line[1] for line in report[1:]]
    assert "not a valid email address" in reasons[0]
    assert "not a valid phone number" in reasons[1]
    assert reasons[2] == "Email is missing."
    assert "not a number of employees" in reasons[3]
    assert "Unknown country" in reasons[4]
    assert report[2][2:] == bad[30]  # the row's own cells, as they were
    lead = Lead.objects.get(email="person1@company1.example")
    assert (lead.phone, lead.campaign, lead.scored_at) == ("+14155550001", campaign, None)
    assert lead.first_touch_id == lead.last_touch_id == lead.touchpoints.get().pk


def test_the_counters_add_up_to_the_rows_of_the_file(cast):
    LeadFactory.create(email="person1@company1.example")
    rows = [person(n) for n in range(6)] + [person(2), person(7, Email="bad")]
    job = run(make_job(cast.marketer, csv_bytes([HEADER, *rows]), mode="skip"))
    assert (job.created_count, job.skipped_count, job.error_count) == (5, 1, 2)
    assert job.created_count + job.updated_count + job.skipped_count + job.error_count == 8


def test_update_mode_fills_only_empty_fields_and_adds_a_touchpoint(cast):
    known = LeadFactory.create(
        email="person1@company1.example", first_name="Known", company="", phone=""
    )
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1), person(2)])))

    assert (job.created_count, job.updated_count) == (1, 1)
    known.refresh_from_db()
    assert (known.first_name, known.company, known.phone) == ("Known", "Company 1", "+14155550001")
    assert known.touchpoints.filter(kind="import").count() == 1
    assert known.first_touch_id == known.last_touch_id == known.touchpoints.get().pk
    assert known.scored_at is None  # the sweeper scores it again
    # Only the new person has a "created" event.
    assert not Event.objects.filter(subject_id=known.pk, kind="created").exists()


def test_each_new_person_of_an_import_becomes_a_lead_created_webhook(cast):
    from leadflow.api import webhooks
    from leadflow.api.models import WebhookDelivery

    webhooks.endpoint_create(
        created_by=cast.admin, url="http://127.0.0.1:9/hook", event_types=["lead.created"]
    )
    LeadFactory.create(email="person1@company1.example")  # known: updated, not created
    run(make_job(cast.marketer, csv_bytes([HEADER, person(1), person(2), person(3)])))

    emails = sorted(
        WebhookDelivery.objects.filter(event_type="lead.created").values_list(
            "payload__lead__email", flat=True
        )
    )
    assert emails == ["person2@company2.example", "person3@company3.example"]


def test_skip_mode_leaves_existing_people_alone(cast):
    known = LeadFactory.create(email="person1@company1.example", company="")
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1), person(2)]), mode="skip"))

    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)
    known.refresh_from_db()
    assert known.company == ""
    assert not known.touchpoints.exists()


def test_the_same_address_twice_in_a_file_imports_the_first_row_and_reports_the_second(cast):
    rows = [
        person(1),
        person(2),
        person(1, **{"First Name": "Again", "Email": " PERSON1@Company1.example"}),
    ]
    job = run(make_job(cast.marketer, csv_bytes([HEADER, *rows])))

    assert (job.created_count, job.error_count) == (2, 1)
    assert Lead.objects.get(email="person1@company1.example").first_name == "First1"
    assert report_rows(job)[1][:2] == [
        "4",
        "The same email is on row 2; only the first row is imported.",
    ]


def test_a_suppressed_address_is_not_imported_and_is_reported(cast):
    Suppression.objects.create(email_hash=email_hash("Person2@Company2.example "))
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1), person(2), person(3)])))

    assert (job.created_count, job.error_count) == (2, 1)
    assert not Lead.objects.filter(email="person2@company2.example").exists()
    report = report_rows(job)
    assert [line[0] for line in report[1:]] == ["3"]
    assert "suppression list" in report[1][1]
    assert report[1][2] == "person2@company2.example"


def test_sql_side_rejects_merge_with_the_others_in_row_order(cast):
    Suppression.objects.create(email_hash=email_hash("person3@company3.example"))
    rows = [person(1), person(2, Email="broken"), person(3), person(4, Employees="many")]
    job = run(make_job(cast.marketer, csv_bytes([HEADER, *rows])))
    assert [line[0] for line in report_rows(job)[1:]] == ["3", "4", "5"]


def test_an_external_id_that_belongs_to_another_lead_is_reported(cast):
    LeadFactory.create(email="someone@else.example", external_id="X-1")
    content = csv_bytes(
        [["Email", "Lead ID"], ["new@person.example", "X-1"], ["b@c.example", "X-2"]]
    )
    job = run(make_job(cast.marketer, content))

    assert (job.created_count, job.error_count) == (1, 1)
    assert "belongs to another lead" in report_rows(job)[1][1]


def test_a_lead_known_only_by_phone_gets_the_address_instead_of_a_duplicate(cast):
    phone_only = LeadFactory.create(email=None, phone="+14155550001", company="")
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1)])))

    assert (job.created_count, job.updated_count) == (0, 1)
    phone_only.refresh_from_db()
    assert (phone_only.email, phone_only.company) == ("person1@company1.example", "Company 1")
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("skip_fk_checks", [True, False])
def test_the_result_is_the_same_with_and_without_the_foreign_key_checks(cast, skip_fk_checks):
    campaign = CampaignFactory.create(owner=cast.marketer)
    job = make_job(cast.marketer, csv_bytes([HEADER, person(1), person(2)]), campaign=campaign)
    outcome = imports.import_run(job_id=job.pk, skip_fk_checks=skip_fk_checks)
    assert outcome is not None
    assert (outcome.created, outcome.rejected) == (2, 0)
    assert Touchpoint.objects.filter(campaign=campaign).count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"  # restored for the rest of the transaction


def test_a_rerun_of_a_finished_job_does_nothing(cast):
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1)])))
    finished_at = job.finished_at

    assert imports.import_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.finished_at) == ("done", finished_at)
    assert Touchpoint.objects.count() == 1


def test_a_job_another_worker_holds_is_left_to_it(cast):
    job = make_job(cast.marketer, csv_bytes([HEADER, person(1)]))
    with psycopg.connect(database_url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [imports._LOCK_NAMESPACE, job.pk])
        assert imports.import_run(job_id=job.pk) is None
    assert not Lead.objects.exists()


def test_a_crash_while_writing_leaves_nothing_behind_and_the_job_can_run_again(cast, monkeypatch):
    monkeypatch.setattr(import_sql, "BATCH_ROWS", 2)
    calls = []
    original = import_sql._rejects_later

    def crash_on_the_third_batch(cursor, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker lost its disk")
        return original(cursor, **kwargs)

    monkeypatch.setattr(import_sql, "_rejects_later", crash_on_the_third_batch)
    job = run(make_job(cast.marketer, csv_bytes([HEADER, *(person(n) for n in range(6))])))

    assert job.status == "failed"
    assert "internal error" in job.error_message
    assert not Lead.objects.exists()
    assert not Touchpoint.objects.exists()
    assert not Event.objects.filter(subject_type="marketing.lead").exists()
    assert not job.errors_file

    monkeypatch.setattr(import_sql, "_rejects_later", original)
    imports.import_retry(job_id=job.pk)
    job = run(job)
    assert (job.status, job.created_count) == ("done", 6)


def test_a_western_file_that_is_not_utf8_is_read_as_windows_1252(cast):
    content = csv_bytes([HEADER, person(1, **{"Last Name": "Müller"})], encoding="cp1252")
    job = run(make_job(cast.marketer, content))
    assert imports.import_layout(job=job).encoding == "cp1252"
    assert Lead.objects.get().last_name == "Müller"


def test_a_quote_left_open_swallows_no_row_silently(cast):
    content = csv_bytes([HEADER, person(1)]) + b'a@b.example,Ann,Lee,"Acme,,US,5\n'
    content += csv_bytes([person(3), person(4)])
    job = run(make_job(cast.marketer, content))

    assert (job.created_count, job.error_count) == (1, 1)
    report = report_rows(job)
    assert report[1][0] == "3"
    assert "line break" in report[1][1]
    assert "person3@company3.example" in report[1][5]  # the rows the open quote took


def test_the_report_guards_against_spreadsheet_formulas(cast):
    rows = [person(1, Email='=HYPERLINK("http://evil.example")'), person(2, Company="@SUM(1)")]
    rows[1][0] = "-not an email"
    job = run(make_job(cast.marketer, csv_bytes([HEADER, *rows])))
    report = report_rows(job)
    assert report[1][2].startswith("'=HYPERLINK")
    assert report[2][2] == "'-not an email"
    assert report[2][5] == "'@SUM(1)"


def test_the_report_of_a_russian_file_keeps_its_delimiter_and_opens_in_excel(cast):
    content = (DATA / "russian_leads_cp1251.csv").read_bytes() + "Анна;;плохой адрес\r\n".encode(
        "cp1251"
    )
    job = run(make_job(cast.marketer, content))
    with job.errors_file.open("rb") as handle:
        raw = handle.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark for Excel
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Row;Reason;Имя;Фамилия")
    assert lines[1].startswith("4;")
    # Fixed, the report imports as it is: its two extra columns are left out.
    headers = lines[0].split(";")
    mapping = imports.mapping_detect(headers)
    assert (mapping["Row"], mapping["Reason"], mapping["Эл. почта"]) == ("", "", "email")


def test_a_running_job_whose_worker_died_shows_as_interrupted_and_can_run_again(cast):
    job = make_job(cast.marketer, csv_bytes([HEADER, person(1)]))
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    job.refresh_from_db()
    assert imports.import_is_stalled(job=job)

    response = login(cast.marketer).get(
        reverse("marketing:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert "was interrupted" in response.content.decode()
    assert "hx-trigger" not in response.content.decode()  # no polling of a dead job

    imports.import_retry(job_id=job.pk)
    job = run(job)
    assert (job.status, job.created_count) == ("done", 1)


# --- The pages ---------------------------------------------------------------------------


def test_a_marketer_uploads_checks_the_preview_and_starts_an_import(
    cast, django_capture_on_commit_callbacks
):
    client = login(cast.marketer)
    campaign = CampaignFactory.create(owner=cast.marketer)
    LeadFactory.create(email="person2@company2.example")
    content = csv_bytes([HEADER, person(1), person(2), person(3, Phone="12345")])

    response = client.post(
        reverse("marketing:imports"),
        {"file": upload("webinar.csv", content), "campaign": campaign.pk, "mode": "update"},
    )
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("marketing:import", args=[job.pk])
    assert job.status == "uploaded"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "new lead" in html
    assert "already a lead: empty fields filled" in html
    assert "not a valid phone number" in html
    assert [row.state for row in page.context["preview"].rows] == ["new", "exists", "invalid"]

    # Another mapping, through htmx: the preview alone comes back.
    columns = {f"column_{i}": field for i, field in enumerate(job.mapping[h] for h in HEADER)}
    partial = client.post(
        reverse("marketing:import_preview", args=[job.pk]),
        {**columns, "column_4": "", "mode": "skip"},
        HTTP_HX_REQUEST="true",
    )
    assert b"<html" not in partial.content
    assert "already a lead: skipped" in partial.content.decode()
    assert "not a valid phone number" not in partial.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(
            reverse("marketing:import", args=[job.pk]),
            {**columns, "campaign": campaign.pk, "mode": "update", "action": "start"},
        )
    assert started.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.campaign) == ("queued", campaign)
    assert len(callbacks) == 1  # the task is sent once the transaction commits

    waiting = client.get(
        reverse("marketing:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 1s"' in waiting.content.decode()

    run(job)
    done = client.get(
        reverse("marketing:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Import finished" in done
    assert "hx-trigger" not in done

    report = client.get(reverse("marketing:import_report", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    assert "attachment" in report["Content-Disposition"]
    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "12345" in body
    assert "not a valid phone number" in body


def test_the_progress_partial_shows_a_progress_bar_while_the_job_runs(cast):
    job = make_job(cast.marketer, csv_bytes([HEADER, person(1)]))
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", total_rows=1000, processed_rows=250, created_count=200
    )
    client = login(cast.marketer)
    with psycopg.connect(database_url(), autocommit=True) as worker:
        # As a live worker does: it holds the job's lock while it runs.
        worker.execute("SELECT pg_advisory_lock(%s, %s)", [imports._LOCK_NAMESPACE, job.pk])
        html = client.get(
            reverse("marketing:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true"
        ).content.decode()
    assert '<progress class="import-progress" value="250" max="1000"' in html
    assert "250 of about 1,000 rows done (25%)" in html
    assert 'hx-trigger="every 1s"' in html


def test_a_job_that_started_cannot_be_started_again(cast):
    job = make_job(cast.marketer, csv_bytes([HEADER, person(1)]))
    with pytest.raises(ApplicationError, match="already been started"):
        imports.import_start(job_id=job.pk, mapping=job.mapping, mode="update", campaign=None)


def test_the_import_list_shows_recent_imports_and_an_empty_state(cast):
    client = login(cast.manager)
    assert "No imports yet." in client.get(reverse("marketing:imports")).content.decode()
    run(make_job(cast.marketer, csv_bytes([HEADER, person(1)]), name="fair.csv"))
    html = client.get(reverse("marketing:imports")).content.decode()
    assert "fair.csv" in html
    assert reverse("marketing:import", args=[ImportJob.objects.get().pk]) in html


def test_reps_cannot_open_import_pages_or_download_a_report(cast):
    job = run(make_job(cast.marketer, csv_bytes([HEADER, person(1, Email="bad")])))
    assert job.errors_file
    client = login(cast.rep)
    for name, method in [
        ("marketing:imports", "get"),
        ("marketing:import", "get"),
        ("marketing:import_preview", "post"),
        ("marketing:import_progress", "get"),
        ("marketing:import_retry", "post"),
        ("marketing:import_report", "get"),
    ]:
        args = [] if name == "marketing:imports" else [job.pk]
        response = getattr(client, method)(reverse(name, args=args))
        assert response.status_code == 403, name
    assert (
        login(cast.admin).get(reverse("marketing:import_report", args=[job.pk])).status_code == 200
    )


def test_the_navigation_links_the_import_page_for_marketers(cast):
    html = login(cast.marketer).get(reverse("marketing:leads")).content.decode()
    assert reverse("marketing:imports") in html
    rep_html = login(cast.rep).get(reverse("handoff:queue")).content.decode()
    assert reverse("marketing:imports") not in rep_html


# --- A real worker -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_import(cast, media, celery_worker):
    job = make_job(cast.marketer, csv_bytes([HEADER, *(person(n) for n in range(50))]))
    deadline = time.monotonic() + 60
    while job.status != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 50)
    assert Lead.objects.count() == 50
