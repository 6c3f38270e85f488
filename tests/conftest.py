from __future__ import annotations

from dataclasses import dataclass

import pytest
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
