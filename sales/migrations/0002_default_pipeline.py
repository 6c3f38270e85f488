from django.db import migrations

STAGES = [
    ("Discovery", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def create_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    PipelineStage = apps.get_model("sales", "PipelineStage")
    pipeline = Pipeline.objects.create(name="New business", is_default=True)
    for position, (name, probability, outcome) in enumerate(STAGES):
        PipelineStage.objects.create(
            pipeline=pipeline, name=name, position=position,
            probability=probability, outcome=outcome,
        )


def remove_pipeline(apps, schema_editor):
    apps.get_model("sales", "Pipeline").objects.filter(name="New business").delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(create_pipeline, remove_pipeline)]
