"""factory_boy factories for the records tests need."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from handoff.models import Handoff, QualificationRule, SlaTier
from leadflow.models import Role, Team, User
from marketing.models import Campaign, Channel, Form, Lead

PASSWORD = "pass-for-tests-1"
_HASH = make_password(PASSWORD)


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    timezone = "Europe/Berlin"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.REP
    password = _HASH


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Channel.PAID_SEARCH
    utm_source = "google"
    utm_medium = "cpc"
    owner = factory.SubFactory(UserFactory, role=Role.MARKETER)


class FormFactory(factory.django.DjangoModelFactory[Form]):
    class Meta:
        model = Form

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Form {n}")
    created_by = factory.LazyAttribute(lambda f: f.campaign.owner)


class LeadFactory(factory.django.DjangoModelFactory[Lead]):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"person{n}@acme{n}.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Sequence(lambda n: f"Acme {n}")


class QualificationRuleFactory(factory.django.DjangoModelFactory[QualificationRule]):
    class Meta:
        model = QualificationRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    sla_tier = SlaTier.STANDARD
    team = factory.SubFactory(TeamFactory)


class HandoffFactory(factory.django.DjangoModelFactory[Handoff]):
    class Meta:
        model = Handoff

    lead = factory.SubFactory(LeadFactory)
    team = factory.SubFactory(TeamFactory)
    sla_tier = SlaTier.STANDARD
    rule_name = "test rule"
