from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from sales.models import Pipeline


@pytest.fixture
def default_pipeline(db: None) -> None:
    """The default pipeline a sales data migration creates, again if a transactional test
    that ran before in this process flushed the tables (a flush keeps no migration data)."""
    if not Pipeline.objects.filter(is_default=True).exists():
        migration = importlib.import_module("sales.migrations.0002_default_pipeline")
        migration.create_pipeline(apps, None)
