from django.db import migrations

# The first rule set (PRODUCT.md §4): fit from fields, engagement from activities.
FIT = [
    ("Company size 200+", "company_size", "gte", "200", 20),
    ("Free-mail address", "email", "freemail", "", -10),
    ("Senior title (VP, Head, Director)", "job_title", "matches", r"\b(VP|Vice President|Head|Director|Chief|C[EOT]O)\b", 15),
    ("Target country", "country", "in", "US,GB,DE,FR,NL,SE,CA,AU", 10),
]
ENGAGEMENT = [
    ("Form submitted", "form_submit", 10),
    ("Demo requested", "demo_request", 40),
    ("Pricing page viewed", "pricing_view", 15),
    ("Email clicked", "email_click", 5),
    ("Webinar attended", "webinar", 20),
]


def create_rules(apps, schema_editor):
    ScoringRule = apps.get_model("marketing", "ScoringRule")
    for position, (name, field, operator, value, points) in enumerate(FIT):
        ScoringRule.objects.create(
            name=name, axis="fit", field=field, operator=operator, value=value,
            points=points, position=position,
        )
    for position, (name, kind, points) in enumerate(ENGAGEMENT):
        ScoringRule.objects.create(
            name=name, axis="engagement", operator="kind", value=kind,
            points=points, position=position,
        )


def remove_rules(apps, schema_editor):
    apps.get_model("marketing", "ScoringRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]
    operations = [migrations.RunPython(create_rules, remove_rules)]
