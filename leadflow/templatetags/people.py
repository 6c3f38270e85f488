"""``{{ user|person }}``: how a page names a person, and nothing when there is none.

``{{ x.get_full_name|default:x.username }}`` fails the whole page when ``x`` is None: the
template engine raises on a filter argument it cannot resolve. Nullable owners, actors and
assignees go through this filter instead; chain ``|default:`` for what an empty one shows.
"""

from django import template

register = template.Library()


@register.filter
def person(user: object) -> str:
    if user is None:
        return ""
    full_name = getattr(user, "get_full_name", None)
    name = full_name() if callable(full_name) else ""
    return str(name or getattr(user, "username", "") or "")
