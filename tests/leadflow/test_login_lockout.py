"""Sign-in lockout per username and address, per address, and the audit of every try."""

from __future__ import annotations

import random

import pytest
from django.test import Client, override_settings

from leadflow.models import AuditEntry, Role
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def _address() -> str:
    # Test runs share one Redis: every test signs in from addresses of its own.
    return ".".join(["10", *(str(random.randint(1, 254)) for _ in range(3))])


def _sign_in(address: str, username: str, password: str, path: str = "/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.fixture
def person(db):
    user = UserFactory(username=f"rep-{random.randrange(10**9)}", role=Role.REP)
    user.set_password(PASSWORD)
    user.save()
    return user


@override_settings(LEADFLOW_LOGIN_FAILURES_PER_USER=3, LEADFLOW_LOGIN_FAILURES_PER_IP=100)
def test_failures_lock_the_username_from_that_address_only(person):
    attacker, victim = _address(), _address()
    for _ in range(3):
        assert _sign_in(attacker, person.username, "wrong").status_code == 200

    locked = _sign_in(attacker, person.username, PASSWORD)
    elsewhere = _sign_in(victim, person.username, PASSWORD)

    assert locked.status_code == 200  # the form again, not a redirect
    assert "Too many failed sign-ins. Try again in 15 minutes." in locked.content.decode()
    assert elsewhere.status_code == 302


@override_settings(LEADFLOW_LOGIN_FAILURES_PER_USER=3, LEADFLOW_LOGIN_FAILURES_PER_IP=100)
def test_the_admin_login_obeys_the_same_lockout(person):
    person.is_staff = True
    person.save()
    address = _address()
    for _ in range(3):
        _sign_in(address, person.username, "wrong", path="/admin/login/")

    response = _sign_in(address, person.username, PASSWORD, path="/admin/login/")

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session


@override_settings(LEADFLOW_LOGIN_FAILURES_PER_USER=100, LEADFLOW_LOGIN_FAILURES_PER_IP=4)
def test_spraying_many_usernames_locks_the_address(person):
    address = _address()
    for index in range(4):
        _sign_in(address, f"nobody-{index}", "guess")

    response = _sign_in(address, person.username, PASSWORD)

    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert _sign_in(_address(), person.username, PASSWORD).status_code == 302


@override_settings(LEADFLOW_LOGIN_FAILURES_PER_USER=3, LEADFLOW_LOGIN_FAILURES_PER_IP=100)
def test_a_success_clears_the_count(person):
    address = _address()
    for _ in range(2):
        _sign_in(address, person.username, "wrong")
    assert _sign_in(address, person.username, PASSWORD).status_code == 302

    for _ in range(2):
        _sign_in(address, person.username, "wrong")

    assert _sign_in(address, person.username, PASSWORD).status_code == 302


@override_settings(LEADFLOW_LOGIN_FAILURES_PER_USER=1, LEADFLOW_LOGIN_FAILURES_PER_IP=100)
def test_every_sign_in_writes_an_audit_row(person):
    address = _address()

    _sign_in(address, person.username, "wrong")
    _sign_in(address, person.username, PASSWORD)
    _sign_in(_address(), person.username, PASSWORD)

    rows = list(AuditEntry.objects.filter(action__startswith="login").order_by("id"))
    assert [row.action for row in rows] == ["login.failed", "login.locked", "login"]
    assert rows[0].detail == {"username": person.username}
    assert rows[0].ip == address
    assert rows[2].actor == person
