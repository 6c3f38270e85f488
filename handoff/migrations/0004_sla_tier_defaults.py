"""The two SLA tiers of the spec, as editable rows: hot in wall-clock time (15 minutes to
accept or reject, an hour to the first touch), standard in business time (4 business hours,
one 8-hour business day)."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

DEFAULTS = [
    {
        "tier": "hot",
        "accept_minutes": 15,
        "touch_minutes": 60,
        "business_time": False,
        "warn_minutes": 5,
    },
    {
        "tier": "standard",
        "accept_minutes": 240,
        "touch_minutes": 480,
        "business_time": True,
        "warn_minutes": 30,
    },
]


def create(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    policy = apps.get_model("handoff", "SlaPolicy")
    for row in DEFAULTS:
        policy.objects.get_or_create(tier=row["tier"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("handoff", "0003_routing_sla")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
