"""Pipelines with configurable stages (order, probability, staleness) and reason lists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leadflow.errors import ApplicationError, NotAllowedError
from sales import pipelines, services
from sales.models import CloseReason, Pipeline, PipelineStage
from tests.conftest import login
from tests.sales.conftest import stage

pytestmark = pytest.mark.django_db


def names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def test_a_manager_adds_a_pipeline_for_the_team_with_starter_stages(cast):
    response = login(cast.manager).post(reverse("sales:pipeline_create"), {"name": "Renewals"})
    assert response.status_code == 302
    pipeline = Pipeline.objects.get(name="Renewals")
    assert (pipeline.team, pipeline.is_default) == (cast.team, True)
    assert names(pipeline) == ["Discovery", "Proposal", "Won", "Lost"]
    # Several pipelines per team; the board offers them all to the team.
    login(cast.manager).post(reverse("sales:pipeline_create"), {"name": "Upsell"})
    board = login(cast.rep).get(reverse("sales:board"))
    offered = {p.name for p in board.context["pipelines"]}
    assert {"Renewals", "Upsell", "New business"} <= offered
    assert "Renewals" not in {
        p.name for p in login(cast.other_rep).get(reverse("sales:board")).context["pipelines"]
    }


def test_stages_are_edited_added_and_reordered(cast):
    pipeline = pipelines.pipeline_create(name="Renewals", actor=cast.manager)
    client = login(cast.manager)
    discovery = pipeline.stages.get(name="Discovery")
    response = client.post(
        reverse("sales:stage_save", args=[pipeline.pk, discovery.pk]),
        {"name": "Intro", "probability": 15, "outcome": "open", "stale_after_days": 7},
    )
    assert response.status_code == 302
    discovery.refresh_from_db()
    assert (discovery.name, discovery.probability, discovery.stale_after_days) == ("Intro", 15, 7)
    client.post(
        reverse("sales:stage_add", args=[pipeline.pk]),
        {"name": "Legal", "probability": 80, "outcome": "open", "stale_after_days": 10},
    )
    assert names(pipeline)[-1] == "Legal"
    order = list(pipeline.stages.order_by("-position").values_list("pk", flat=True))
    client.post(reverse("sales:stage_reorder", args=[pipeline.pk]), {"stage": order})
    assert names(pipeline) == ["Legal", "Lost", "Won", "Proposal", "Intro"]


def test_bad_stage_input_is_a_clear_error(cast):
    pipeline = pipelines.pipeline_create(name="Renewals", actor=cast.manager)
    client = login(cast.manager)
    response = client.post(
        reverse("sales:stage_add", args=[pipeline.pk]),
        {"name": "X", "probability": 150, "outcome": "open", "stale_after_days": 7},
    )
    assert response.status_code == 400
    assert pipeline.stages.count() == 4
    won = pipeline.stages.get(outcome="won")
    with pytest.raises(ApplicationError):
        pipelines.stage_delete(stage_id=won.pk, actor=cast.manager)
    with pytest.raises(ApplicationError):
        pipelines.stage_save(
            pipeline_id=pipeline.pk,
            stage_id=won.pk,
            actor=cast.manager,
            name="Won",
            probability=100,
            outcome="open",
            stale_after_days=14,
        )
    response = client.post(reverse("sales:stage_reorder", args=[pipeline.pk]), {"stage": ["1"]})
    assert response.status_code == 302
    assert names(pipeline) == ["Discovery", "Proposal", "Won", "Lost"]


def test_a_stage_with_deals_is_not_removed(cast, deal):
    discovery = stage("Discovery")
    with pytest.raises(ApplicationError):
        pipelines.stage_delete(stage_id=discovery.pk, actor=cast.admin)
    assert PipelineStage.objects.filter(pk=discovery.pk).exists()


def test_a_manager_edits_only_the_own_team_s_pipelines(cast):
    west = Pipeline.objects.create(name="West", team=cast.other_team)
    west.stages.create(name="Open", position=0)
    response = login(cast.manager).post(
        reverse("sales:stage_add", args=[west.pk]),
        {"name": "Sneaky", "probability": 5, "outcome": "open", "stale_after_days": 5},
    )
    assert response.status_code == 404
    shared = stage("Discovery").pipeline  # for all teams: admins only
    with pytest.raises(NotAllowedError):
        pipelines.stage_save(
            pipeline_id=shared.pk,
            actor=cast.manager,
            name="X",
            probability=1,
            outcome="open",
            stale_after_days=3,
        )
    assert not PipelineStage.objects.filter(name__in=["Sneaky", "X"]).exists()


def test_reason_lists_are_editable_and_retired_reasons_stay_on_closed_deals(cast, deal):
    client = login(cast.manager)
    client.post(reverse("sales:reason_add"), {"kind": "won", "label": "Great demo"})
    assert CloseReason.objects.filter(kind="won", label="Great demo", is_active=True).exists()
    response = client.post(reverse("sales:reason_add"), {"kind": "won", "label": "Great demo"})
    assert response.status_code == 400
    services.deal_move(
        deal_id=deal.pk, stage_id=stage("Won").pk, actor=cast.rep, reason="Great demo"
    )
    reason = CloseReason.objects.get(label="Great demo")
    client.post(reverse("sales:reason_toggle", args=[reason.pk]))
    reason.refresh_from_db()
    deal.refresh_from_db()
    assert reason.is_active is False
    assert deal.close_reason == "Great demo"
    board = login(cast.rep).get(reverse("sales:board"))
    assert "Great demo" not in board.context["reasons"]["won"]


def test_the_settings_page_renders_for_managers_and_admins(cast):
    pipelines.pipeline_create(name="Renewals", actor=cast.manager)
    for user in (cast.manager, cast.admin):
        response = login(user).get(reverse("sales:settings"))
        assert response.status_code == 200
        assert "Renewals" in response.content.decode()
