"""Who may open what: every URL of the project, for every kind of caller.

The URL patterns come from the resolver, so a new view without a declaration here fails
``test_every_url_is_declared``. Each declaration says which callers are let in; everyone
else must be refused: sent to the login page (nobody signed in), 403 (wrong role) or 404
(an object they may not see). No refused caller may get a 2xx. The objects belong to team
East and its rep: the rep of team West must never see them, nor their personal data on
the pages West's rep may open.

API endpoints are called with a token of each role (carrying every scope the role may
hold), with a token that has every scope but the one needed, and with no token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from handoff import routing, services
from handoff.models import KpiTarget
from leadflow.api.scopes import ROLE_SCOPES, SCOPES
from leadflow.api.tokens import token_create
from leadflow.models import Notification, Role, User
from leadflow.notifications import notification_send
from marketing import privacy
from marketing.models import ImportJob, RescoreJob, ScoringRule
from sales import services as sales_services
from sales.models import CloseReason, Deal, PipelineStage
from tests.conftest import Cast
from tests.factories import (
    CampaignFactory,
    FormFactory,
    HandoffFactory,
    LeadFactory,
    QualificationRuleFactory,
)

pytestmark = pytest.mark.django_db

ANON, MARKETER, REP, OTHER_REP, MANAGER, ADMIN = (
    "anonymous",
    "marketer",
    "rep",
    "other_rep",
    "manager",
    "admin",
)
PEOPLE = frozenset({MARKETER, REP, OTHER_REP, MANAGER, ADMIN})
EVERYONE = PEOPLE | {ANON}
MARKETING = frozenset({MARKETER, MANAGER, ADMIN})
SALES = frozenset({REP, OTHER_REP, MANAGER, ADMIN})
EAST_SALES = frozenset({REP, MANAGER, ADMIN})  # objects of team East, its rep's
EAST_REP = frozenset({REP, ADMIN})  # the rep's own actions (admins pass every role check)
MANAGERS = frozenset({MANAGER, ADMIN})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Url:
    allowed: frozenset[str]
    method: str = "GET"
    args: tuple[str, ...] = ()  # attributes of World, in the pattern's order
    # Sends everybody to the login page by design (signing out).
    to_login: bool = False


# Every HTML view. Admin pages are Django's own: only staff, declared by prefix below.
HTML: dict[str, Url] = {
    "home": Url(PEOPLE),
    "health": Url(EVERYONE),
    "login": Url(EVERYONE),
    "logout": Url(EVERYONE, "POST", to_login=True),
    "set_language": Url(EVERYONE, "POST"),
    "notifications": Url(PEOPLE),
    "notification_bell": Url(PEOPLE),
    "notification_open": Url(frozenset({REP}), "POST", ("notification",)),
    "notification_preferences": Url(PEOPLE),
    "marketing:campaigns": Url(MARKETING),
    "marketing:campaign": Url(MARKETING, args=("campaign",)),
    "marketing:campaign_edit": Url(MARKETING, args=("campaign",)),
    "marketing:leads": Url(MARKETING),
    "marketing:lead": Url(MARKETING, args=("lead",)),
    "marketing:scoring": Url(MARKETING),
    "marketing:scoring_rule_new": Url(MARKETING),
    "marketing:scoring_rule": Url(MARKETING, args=("scoring_rule",)),
    "marketing:scoring_job": Url(MARKETING, args=("rescore_job",)),
    "marketing:public_form": Url(EVERYONE, args=("form_key",)),
    "marketing:public_form_definition": Url(EVERYONE, args=("form_key",)),
    "marketing:form_edit": Url(MARKETING, args=("form",)),
    "marketing:duplicates": Url(MARKETING),
    "marketing:unsubscribe": Url(EVERYONE, args=("unsubscribe_token",)),
    "marketing:imports": Url(MARKETING),
    "marketing:import": Url(MARKETING, args=("import_job",)),
    "marketing:import_preview": Url(MARKETING, "POST", ("import_job",)),
    "marketing:import_progress": Url(MARKETING, args=("import_job",)),
    "marketing:import_retry": Url(MARKETING, "POST", ("import_job",)),
    "marketing:import_report": Url(MARKETING, args=("import_job",)),
    "handoff:queue": Url(SALES),
    "handoff:today": Url(SALES),
    "handoff:claim_next": Url(frozenset({REP, OTHER_REP, ADMIN}), "POST"),
    "handoff:away": Url(SALES, "POST"),
    "handoff:team": Url(MANAGERS),
    "handoff:team_settings": Url(MANAGERS),
    "handoff:reassign": Url(MANAGERS, "POST", ("handoff",)),
    "handoff:rejections": Url(MARKETING),
    "handoff:detail": Url(EAST_SALES, args=("handoff",)),
    "handoff:claim": Url(EAST_REP, "POST", ("handoff",)),
    "handoff:accept": Url(EAST_REP, "POST", ("handoff",)),
    "handoff:reject": Url(EAST_REP, "POST", ("handoff",)),
    "handoff:touch": Url(EAST_REP, "POST", ("handoff",)),
    "handoff:convert": Url(EAST_REP, args=("handoff",)),
    "handoff:dashboard": Url(frozenset({MARKETER, REP, OTHER_REP, MANAGER, ADMIN})),
    "handoff:dashboard_records": Url(frozenset({MARKETER, REP, OTHER_REP, MANAGER, ADMIN})),
    "handoff:dashboard_export": Url(
        frozenset({MARKETER, REP, OTHER_REP, MANAGER, ADMIN}), args=("table",)
    ),
    "handoff:dashboard_targets": Url(MANAGERS),
    "handoff:dashboard_target_delete": Url(MANAGERS, "POST", ("target",)),
    "handoff:review": Url(frozenset({MARKETER, MANAGER, ADMIN})),
    "handoff:qualification": Url(MARKETING),
    "handoff:qualification_rule_new": Url(MARKETING),
    "handoff:qualification_rule": Url(MARKETING, args=("qualification_rule",)),
    "handoff:qualification_rule_move": Url(MARKETING, "POST", ("qualification_rule",)),
    "handoff:lead_export": Url(MARKETING, args=("lead",)),
    "handoff:lead_erase": Url(MARKETING, "POST", ("lead",)),
    "handoff:lead_merge": Url(MARKETING, args=("lead", "other_lead")),
    "sales:board": Url(SALES),
    "sales:deals": Url(SALES),
    "sales:deal": Url(EAST_SALES, args=("deal",)),
    "sales:deal_move": Url(EAST_SALES, "POST", ("deal",)),
    "sales:deal_edit": Url(EAST_SALES, "POST", ("deal",)),
    "sales:deal_touch": Url(EAST_SALES, "POST", ("deal",)),
    "sales:deal_task": Url(EAST_SALES, "POST", ("deal",)),
    "sales:accounts": Url(SALES),
    "sales:account": Url(EAST_SALES, args=("account",)),
    "sales:contact": Url(EAST_SALES, args=("contact",)),
    "sales:contact_touch": Url(EAST_SALES, "POST", ("contact",)),
    "sales:contact_task": Url(EAST_SALES, "POST", ("contact",)),
    "sales:task_done": Url(EAST_SALES, "POST", ("task",)),
    "sales:settings": Url(MANAGERS),
    "sales:pipeline_create": Url(MANAGERS, "POST"),
    # The default pipeline is company-wide: only admins change it (managers, their team's).
    "sales:stage_add": Url(ADMINS, "POST", ("pipeline",)),
    "sales:stage_save": Url(ADMINS, "POST", ("pipeline", "stage")),
    "sales:stage_delete": Url(ADMINS, "POST", ("pipeline", "stage")),
    "sales:stage_reorder": Url(ADMINS, "POST", ("pipeline",)),
    # A manager sets their own team's visibility; an admin has no team to set (404).
    "sales:team_visibility": Url(frozenset({MANAGER}), "POST"),
    "sales:reason_add": Url(MANAGERS, "POST"),
    "sales:reason_toggle": Url(MANAGERS, "POST", ("close_reason",)),
}

# Every API operation: the scope it needs, and who may reach the object it names.
DOCS = frozenset({"schema", "docs", "redoc"})  # public documentation of the API


@dataclass(frozen=True)
class Op:
    scope: str
    method: str = "GET"
    args: tuple[str, ...] = ()
    # Roles whose token has the scope but who are still refused (403/404): the object is
    # not theirs, or the operation is not their role's (only reps claim).
    refused: frozenset[str] = field(default_factory=frozenset)


API: dict[str, list[Op]] = {
    "api:leads": [Op("leads:read"), Op("leads:write", "POST")],
    "api:lead-upsert": [Op("leads:write", "POST")],
    "api:lead-batch": [Op("leads:write", "POST")],
    "api:lead": [Op("leads:read", args=("lead",)), Op("leads:write", "PATCH", ("lead",))],
    "api:activities": [Op("activities:write", "POST")],
    "api:campaigns": [Op("leads:read"), Op("leads:write", "POST")],
    "api:campaign": [
        Op("leads:read", args=("campaign",)),
        Op("leads:write", "PATCH", ("campaign",)),
    ],
    "api:forms": [Op("leads:read")],
    "api:form": [Op("leads:read", args=("form",))],
    "api:imports": [Op("leads:write", "POST")],
    "api:import": [Op("leads:write", args=("import_job",))],
    "api:import-errors": [Op("leads:write", args=("import_job",))],
    "api:handoffs": [Op("handoffs:read")],
    "api:handoff": [Op("handoffs:read", args=("handoff",), refused=frozenset({OTHER_REP}))],
    "api:handoff-claim": [
        Op("handoffs:write", "POST", ("handoff",), refused=frozenset({OTHER_REP, MANAGER, ADMIN}))
    ],
    "api:handoff-accept": [
        Op("handoffs:write", "POST", ("handoff",), refused=frozenset({OTHER_REP}))
    ],
    "api:handoff-reject": [
        Op("handoffs:write", "POST", ("handoff",), refused=frozenset({OTHER_REP}))
    ],
    "api:kpis": [Op("kpis:read")],
    "api:deals": [Op("deals:read"), Op("deals:write", "POST")],
    "api:deal": [
        Op("deals:read", args=("deal",), refused=frozenset({OTHER_REP})),
        Op("deals:write", "PATCH", ("deal",), refused=frozenset({OTHER_REP})),
    ],
    "api:deal-stage": [Op("deals:write", "POST", ("deal",), refused=frozenset({OTHER_REP}))],
    "api:deal-won": [Op("deals:write", "POST", ("deal",), refused=frozenset({OTHER_REP}))],
    "api:deal-lost": [Op("deals:write", "POST", ("deal",), refused=frozenset({OTHER_REP}))],
    "api:accounts": [Op("deals:read")],
    "api:account": [Op("deals:read", args=("account",), refused=frozenset({OTHER_REP}))],
    "api:contacts": [Op("deals:read")],
    "api:contact": [Op("deals:read", args=("contact",), refused=frozenset({OTHER_REP}))],
}


def _patterns(patterns: list[Any], namespace: str = "") -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += _patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.append(f"{namespace}{pattern.name or '<unnamed ' + str(pattern.pattern) + '>'}")
    return names


def url_names() -> list[str]:
    return _patterns(get_resolver().url_patterns)


def test_every_url_is_declared():
    declared = set(HTML) | set(API) | {f"api:{name}" for name in DOCS}
    undeclared = [
        name for name in url_names() if not name.startswith("admin:") and name not in declared
    ]
    assert not undeclared, f"declare who may open these in test_access_matrix: {undeclared}"
    stale = declared - set(url_names())
    assert not stale, f"declared but gone: {stale}"


# --- The world: team East's records, and callers of every kind --------------------------


@dataclass
class World:
    cast: Cast
    lead: Any
    other_lead: Any
    campaign: Any
    form: Any
    form_key: str
    handoff: Any
    deal: Deal
    account: Any
    contact: Any
    task: Any
    notification: Notification
    scoring_rule: ScoringRule
    rescore_job: RescoreJob
    import_job: ImportJob
    qualification_rule: Any
    target: KpiTarget
    pipeline: Any
    stage: Any
    close_reason: CloseReason
    unsubscribe_token: str
    table: str = "campaigns"
    secrets: tuple[str, ...] = ()  # personal data of East's leads


@pytest.fixture
def world(cast: Cast, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    campaign = CampaignFactory.create(owner=cast.marketer)
    form = FormFactory.create(campaign=campaign)
    lead = LeadFactory.create(
        email="secret.person@east.example", first_name="Secreta", last_name="Eastwood"
    )
    handoff = HandoffFactory.create(team=cast.team, lead=lead)
    routing.assign(handoff=handoff, rep=cast.rep, reason="test", actor=None)
    won = HandoffFactory.create(
        team=cast.team,
        lead=LeadFactory.create(
            email="closer@east.example", first_name="Dealia", last_name="Eastman"
        ),
    )
    routing.assign(handoff=won, rep=cast.rep, reason="test", actor=None)
    services.handoff_accept(handoff_id=won.pk, user=cast.rep)
    deal = services.handoff_convert(
        handoff_id=won.pk, user=cast.rep, deal_name="East deal", amount=Decimal("500")
    )
    deal = Deal.objects.select_related("account", "contact", "pipeline").get(pk=deal.pk)
    task = sales_services.task_create(
        actor=cast.rep,
        owner=cast.rep,
        title="Call back",
        due_at=timezone.now() + timedelta(days=1),
        deal_id=deal.pk,
    )
    notification = notification_send(
        user=cast.rep, kind="test", subject="Hello", dedupe_key="matrix"
    )
    assert notification is not None
    job = ImportJob.objects.create(created_by=cast.marketer, original_name="x.csv", mapping={})
    job.file.save("x.csv", ContentFile(b"Email\nsomeone@example.com\n"))
    job.errors_file.save("rejected.csv", ContentFile(b"Row,Reason\n"))
    token = privacy.unsubscribe_token_for(lead)
    assert token
    return World(
        cast=cast,
        lead=lead,
        other_lead=LeadFactory.create(email="twin@east.example"),
        campaign=campaign,
        form=form,
        form_key=form.key,
        handoff=handoff,
        deal=deal,
        account=deal.account,
        contact=deal.contact,
        task=task,
        notification=notification,
        scoring_rule=ScoringRule.objects.order_by("pk").first() or pytest.fail("no rule"),
        rescore_job=RescoreJob.objects.create(reason="matrix"),
        import_job=job,
        qualification_rule=QualificationRuleFactory.create(team=cast.team),
        target=KpiTarget.objects.create(
            month=timezone.now().date().replace(day=1), metric="sqls", value=5
        ),
        pipeline=deal.pipeline,
        stage=PipelineStage.objects.filter(pipeline=deal.pipeline).order_by("pk").first(),
        close_reason=CloseReason.objects.order_by("pk").first() or pytest.fail("no reason"),
        unsubscribe_token=token,
        secrets=("secret.person@east.example", "Secreta", "Eastwood", "closer@east.example"),
    )


def _user(world: World, who: str) -> User | None:
    return None if who == ANON else getattr(world.cast, who)


def _client(world: World, who: str) -> Client:
    client = Client()
    user = _user(world, who)
    if user is not None:
        client.force_login(user)
    return client


def _path(world: World, name: str, args: tuple[str, ...]) -> str:
    values = [getattr(world, arg) for arg in args]
    return reverse(name, args=[getattr(v, "pk", v) for v in values])


def _refused(who: str, status: int, location: str) -> bool:
    if who == ANON:
        return status in (401, 403) or (status == 302 and location.startswith("/login/"))
    return status in (403, 404)


def _order(allowed: frozenset[str]) -> list[str]:
    """The refused callers first, so that an allowed one's POST changes nothing they see."""
    callers = [ANON, MARKETER, REP, OTHER_REP, MANAGER, ADMIN]
    return sorted(callers, key=lambda who: who in allowed)


@pytest.mark.parametrize("name", sorted(HTML))
def test_html_view_lets_in_only_whom_it_should(world, name):
    url = HTML[name]
    path = _path(world, name, url.args)
    wrong: list[str] = []
    for who in _order(url.allowed):
        client = _client(world, who)
        response = client.post(path) if url.method == "POST" else client.get(path)
        location = response.get("Location", "")
        refused = _refused(who, response.status_code, location)
        if url.to_login:
            ok = response.status_code == 302 and location.startswith("/login/")
        elif who in url.allowed:
            ok = not refused and response.status_code < 500
            ok = ok and not (response.status_code == 302 and location.startswith("/login/"))
        else:
            ok = refused
        if not ok:
            wrong.append(f"{who}: {response.status_code} {location}")
        if who == OTHER_REP and response.status_code == 200:
            body = response.content.decode(errors="replace")
            leaked = [secret for secret in world.secrets if secret in body]
            if leaked:
                wrong.append(f"{who} sees East's personal data: {leaked}")
    assert not wrong, f"{url.method} {path}: {wrong}"


def _token_client(world: World, who: str, scopes: list[str]) -> APIClient:
    client = APIClient()
    if who == ANON:
        return client
    user = _user(world, who)
    assert user is not None
    made = token_create(created_by=world.cast.admin, user=user, name=who, scopes=scopes)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.raw}")
    return client


def _call(client: APIClient, op: Op, path: str) -> Any:
    if op.method == "GET":
        return client.get(path)
    return getattr(client, op.method.lower())(path, {}, format="json")


@pytest.mark.parametrize("name", sorted(API))
def test_api_operation_needs_its_scope_and_the_object(world, name):
    wrong: list[str] = []
    for op in API[name]:
        path = _path(world, name, op.args)
        anonymous = _call(_token_client(world, ANON, []), op, path).status_code
        if anonymous != 401:
            wrong.append(f"{op.method} anonymous: {anonymous}")
        lacking = sorted(set(SCOPES) - {op.scope})
        without = _call(_token_client(world, ADMIN, lacking), op, path).status_code
        if without != 403:
            wrong.append(f"{op.method} token without {op.scope}: {without}")
        for who in (MARKETER, REP, OTHER_REP, MANAGER, ADMIN):
            role = getattr(world.cast, who).role
            scopes = sorted(ROLE_SCOPES[role])
            response = _call(_token_client(world, who, scopes), op, path)
            status = response.status_code
            if who == OTHER_REP and status == 200:
                body = response.content.decode(errors="replace")
                leaked = [secret for secret in world.secrets if secret in body]
                if leaked:
                    wrong.append(f"{op.method} {who} sees East's personal data: {leaked}")
            expected_ok = op.scope in scopes and who not in op.refused
            if expected_ok and (status in (401, 403, 404) or status >= 500):
                wrong.append(f"{op.method} {who}: {status}, expected to be let in")
            if not expected_ok and status not in (403, 404):
                wrong.append(f"{op.method} {who}: {status}, expected 403/404")
    assert not wrong, f"{name}: {wrong}"


def test_the_api_documentation_is_public_and_the_admin_is_staff_only(world):
    for name in DOCS:
        assert Client().get(reverse(f"api:{name}")).status_code == 200
    admin_pages = [reverse("admin:index"), reverse("admin:marketing_lead_changelist")]
    for who in (ANON, MARKETER, REP, OTHER_REP, MANAGER):
        for path in admin_pages:
            response = _client(world, who).get(path)
            assert response.status_code == 302, (who, path)
            assert response["Location"].startswith("/admin/login/")
    for path in admin_pages:
        assert _client(world, ADMIN).get(path).status_code == 200


def test_roles_have_the_scopes_the_matrix_assumes():
    assert Role.ADMIN in ROLE_SCOPES
    assert "leads:read" not in ROLE_SCOPES[Role.REP]
