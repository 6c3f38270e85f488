"""The ``person`` template filter names a user, and renders nothing for a missing one."""

import pytest
from django.template import Context, Template

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATE = Template('{% load people %}{{ who|person|default:"nobody" }}')


def render(who: object) -> str:
    return TEMPLATE.render(Context({"who": who}))


def test_a_user_is_named_by_full_name_then_username():
    assert render(UserFactory.create(username="ann", first_name="Ann", last_name="Lee")) == (
        "Ann Lee"
    )
    assert render(UserFactory.create(username="bob", first_name="", last_name="")) == "bob"


def test_no_user_renders_the_default_instead_of_failing_the_page():
    assert render(None) == "nobody"
