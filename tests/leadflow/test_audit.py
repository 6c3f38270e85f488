"""Every security-relevant action leaves an audit row, and nobody can change or remove it
afterwards: the database refuses UPDATE and DELETE on the table, whoever asks."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from leadflow.api.tokens import token_create, token_revoke
from leadflow.models import AuditEntry, Role, User
from marketing.models import ImportJob
from tests.conftest import login
from tests.factories import PASSWORD, HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    """The actions audited, oldest first, leaving out the tests' own sign-ins."""
    rows = AuditEntry.objects.exclude(action="login").order_by("id")
    return list(rows.values_list("action", flat=True))


def test_sign_in_success_and_failure_are_audited(cast):
    client = Client()
    client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    logged = AuditEntry.objects.order_by("id").values_list("action", flat=True)
    assert list(logged) == ["login.failed", "login"]
    assert AuditEntry.objects.get(action="login").actor == cast.rep


def test_token_creation_and_revocation_are_audited(cast):
    made = token_create(
        created_by=cast.admin, user=cast.marketer, name="crm", scopes=["leads:read"]
    )
    token_revoke(token_id=made.token.pk, actor=cast.admin)
    assert actions() == ["api_token.create", "api_token.revoke"]
    assert {entry.actor for entry in AuditEntry.objects.all()} == {cast.admin}


def test_exports_are_audited(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    lead = LeadFactory()
    marketer = login(cast.marketer)
    assert marketer.get(reverse("handoff:lead_export", args=[lead.pk])).status_code == 200
    manager = login(cast.manager)
    export = reverse("handoff:dashboard_export", args=["campaigns"])
    assert manager.get(export, {"period": "30"}).status_code == 200
    job = ImportJob.objects.create(created_by=cast.marketer, original_name="x.csv", mapping={})
    job.errors_file.save("rejected.csv", ContentFile(b"Row,Reason\n"))
    assert marketer.get(reverse("marketing:import_report", args=[job.pk])).status_code == 200

    assert actions() == ["lead.export", "kpi.export", "import.report_download"]
    kpi = AuditEntry.objects.get(action="kpi.export")
    assert (kpi.actor, kpi.detail["table"], kpi.ip) == (cast.manager, "campaigns", "127.0.0.1")
    report = AuditEntry.objects.get(action="import.report_download")
    assert (report.subject_id, report.actor) == (job.pk, cast.marketer)


def test_erasure_is_audited(cast):
    lead = LeadFactory()
    login(cast.marketer).post(reverse("handoff:lead_erase", args=[lead.pk]), {"confirm": "ERASE"})
    entry = AuditEntry.objects.get(action="lead.erase")
    assert (entry.actor, entry.subject_id) == (cast.marketer, lead.pk)


def test_a_change_of_role_or_rights_in_the_admin_is_audited_and_other_edits_are_not(cast):
    admin_of_users = site._registry[User]
    request = RequestFactory().post("/admin/leadflow/user/", REMOTE_ADDR="10.1.2.3")
    request.user = cast.admin
    user = User.objects.get(pk=cast.rep.pk)
    user.first_name = "Renamed"
    admin_of_users.save_model(request, user, form=None, change=True)
    assert actions() == []
    user.role = Role.MANAGER
    user.is_staff = True
    admin_of_users.save_model(request, user, form=None, change=True)
    entry = AuditEntry.objects.get(action="user.access_change")
    assert entry.actor == cast.admin
    assert entry.subject_id == cast.rep.pk
    assert entry.ip == "10.1.2.3"
    assert entry.detail["role"] == {"from": Role.REP, "to": Role.MANAGER}
    assert entry.detail["is_staff"] == {"from": False, "to": True}
    assert "first_name" not in entry.detail

    new = User(username="newbie", role=Role.REP)
    admin_of_users.save_model(request, new, form=None, change=False)
    assert AuditEntry.objects.get(action="user.create").subject_id == new.pk


def test_re_assignment_is_audited(cast):
    handoff = HandoffFactory(team=cast.team, assigned_to=cast.rep)
    client = login(cast.manager)
    client.post(reverse("handoff:reassign", args=[handoff.pk]), {"rep": cast.rep2.pk})
    client.post(reverse("handoff:reassign", args=[handoff.pk]), {"rep": ""})
    entries = AuditEntry.objects.filter(action="handoff.reassign").order_by("id")
    assert [(e.detail["from"], e.detail["to"]) for e in entries] == [("rep", "rep2"), ("rep2", "")]
    assert {e.actor for e in entries} == {cast.manager}


def test_the_application_cannot_change_or_delete_an_audit_row(cast):
    entry = AuditEntry.objects.create(actor=cast.admin, action="login")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="nothing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.detail = {"forged": True}
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).action == "login"
