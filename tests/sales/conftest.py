"""Sales test helpers: handoffs given to a rep, accepted, converted."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.apps import apps as django_apps

from handoff import routing, sla
from handoff import services as handoff_services
from handoff.models import Handoff
from leadflow.models import User
from marketing.models import Lead, Stage
from sales.models import CloseReason, Deal, Pipeline, PipelineStage
from tests.factories import HandoffFactory, LeadFactory


@pytest.fixture(autouse=True)
def migrations_data(request: pytest.FixtureRequest) -> None:
    """The default pipeline and the reason lists, as sales' data migrations make them.

    Normally already there; but under xdist a transactional test of another file that ran
    earlier in the same worker leaves the database empty, and these tests must not depend
    on the order files are dealt out in.
    """
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        request.getfixturevalue("db")
    if not Pipeline.objects.filter(is_default=True, team=None).exists():
        pipeline = importlib.import_module("sales.migrations.0002_default_pipeline")
        pipeline.create_pipeline(django_apps, None)
    if not CloseReason.objects.exists():
        reasons = importlib.import_module("sales.migrations.0003_deal_close_reasons_tasks_activity")
        reasons.seed_reasons(django_apps, None)


def accepted_handoff(rep: User, **lead_fields: object) -> Handoff:
    """A handoff of a new SQL, routed to ``rep`` with its SLA clocks running, accepted."""
    assert rep.team is not None
    lead = LeadFactory.create(stage=Stage.SQL, **lead_fields)
    handoff = HandoffFactory.create(team=rep.team, lead=lead)
    routing.assign(handoff=handoff, rep=rep, reason="test", actor=None)
    sla.sla_start(handoff=handoff, start=handoff.handed_off_at)
    return handoff_services.handoff_accept(handoff_id=handoff.pk, user=rep)


def convert(rep: User, *, amount: str = "5000", **lead_fields: object) -> Deal:
    handoff = accepted_handoff(rep, **lead_fields)
    return handoff_services.handoff_convert(
        handoff_id=handoff.pk, user=rep, deal_name="Big deal", amount=Decimal(amount)
    )


@pytest.fixture
def make_deal(cast) -> Callable[..., Deal]:
    def make(rep: User | None = None, amount: str = "5000", **lead_fields: object) -> Deal:
        return convert(rep or cast.rep, amount=amount, **lead_fields)

    return make


@pytest.fixture
def deal(make_deal) -> Deal:
    return make_deal()


def stage(name: str) -> PipelineStage:
    return PipelineStage.objects.get(name=name, pipeline__is_default=True, pipeline__team=None)


def lead_of(deal: Deal) -> Lead:
    assert deal.lead_id is not None
    return Lead.objects.get(pk=deal.lead_id)
