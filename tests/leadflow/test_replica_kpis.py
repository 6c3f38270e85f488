"""The dashboard's KPIs are read from the replica when DATABASE_REPLICA_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import datetime as dt, json, django
django.setup()
from django.db import connections
from handoff import kpis
from leadflow.models import User
admin = User(username="probe", role="admin", is_superuser=True)
today = dt.date.today()
kpis.kpi_waterfall(kpis.filter_for(admin, start=today - dt.timedelta(days=30), end=today))
print(json.dumps({
    "replica_used": connections["replica"].connection is not None,
    "primary_used": connections["default"].connection is not None,
}))
"""


def test_the_kpi_queries_run_on_the_replica(db):
    url = database_url()
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "leadflow.settings",
            "DATABASE_URL": url,
            "DATABASE_REPLICA_URL": url,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"replica_used": True, "primary_used": False}
