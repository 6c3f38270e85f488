from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client

from leadflow.models import Role, Team, User
from tests.factories import PASSWORD, QualificationRuleFactory, TeamFactory, UserFactory


@dataclass
class Cast:
    """The named people of permission tests."""

    team: Team
    other_team: Team
    rep: User
    rep2: User
    other_rep: User
    marketer: User
    manager: User
    admin: User


@pytest.fixture
def cast(db: None) -> Cast:
    team = TeamFactory.create(name="East")
    other_team = TeamFactory.create(name="West")
    return Cast(
        team=team,
        other_team=other_team,
        rep=UserFactory.create(username="rep", role=Role.REP, team=team),
        rep2=UserFactory.create(username="rep2", role=Role.REP, team=team),
        other_rep=UserFactory.create(username="other_rep", role=Role.REP, team=other_team),
        marketer=UserFactory.create(username="marketer", role=Role.MARKETER),
        manager=UserFactory.create(username="manager", role=Role.MANAGER, team=team),
        admin=UserFactory.create(
            username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True
        ),
    )


@pytest.fixture
def rules(cast: Cast) -> list:
    """The demo's qualification rules: hot for fast track, standard for engaged B+ leads."""
    return [
        QualificationRuleFactory(
            name="Hot: demo requests",
            position=0,
            fast_track_only=True,
            sla_tier="hot",
            team=cast.team,
        ),
        QualificationRuleFactory(
            name="Standard",
            position=1,
            max_grade="B",
            min_engagement=50,
            sla_tier="standard",
            team=cast.team,
        ),
    ]


def login(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def database_url() -> str:
    """A DATABASE_URL for the database this test process uses (for subprocesses)."""
    db = connection.settings_dict
    host = db.get("HOST") or ""
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"
