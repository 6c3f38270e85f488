from django.db import migrations


def create_rule(apps, schema_editor):
    ScoringRule = apps.get_model("marketing", "ScoringRule")
    if not ScoringRule.objects.filter(axis="engagement", value="contact_sales").exists():
        ScoringRule.objects.create(
            name="Contact sales requested", axis="engagement", operator="kind",
            value="contact_sales", points=40, position=5,
        )


class Migration(migrations.Migration):
    dependencies = [("marketing", "0006_scoring_rules_as_data")]
    operations = [migrations.RunPython(create_rule, migrations.RunPython.noop)]
