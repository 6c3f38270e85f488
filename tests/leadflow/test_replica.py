"""KPI reads go to the read replica when one is configured; writes never do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from leadflow.db import read_alias, replica_reads
from leadflow.models import User
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.db import connections
from leadflow.db import replica_reads
from leadflow.models import User
outside = User.objects.all().db
with replica_reads():
    inside = User.objects.all().db
    count = User.objects.count()
    from leadflow.db import ReplicaRouter
    write = ReplicaRouter().db_for_write(User)
print(json.dumps({"outside": outside, "inside": inside, "write": write, "count": count,
                  "replica_used": connections["replica"].connection is not None}))
"""


def test_without_a_replica_everything_reads_from_the_primary(db):
    with replica_reads():
        assert read_alias() == "default"
        assert User.objects.all().db == "default"


def test_with_a_replica_only_replica_reads_go_there(db):
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
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["outside"] == "default"
    assert seen["inside"] == "replica"
    assert seen["write"] == "default"
    assert seen["replica_used"] is True
