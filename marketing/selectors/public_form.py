"""The public form as capture needs it: ``PublicForm``, cached in the process and in
Redis, so a submission reads no form, campaign or consent row from the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import monotonic

from django.core.cache import cache

from marketing.models import Form

logger = logging.getLogger(__name__)

# Bump when PublicForm changes shape or module: old pickles under the old key are then
# never read, and processes of the previous release never read the new ones (2: the class
# moved to marketing.selectors.public_form).
_PUBLIC_FORM_CACHE_VERSION = 2
# Form saves through the services forget the cached copy on commit; this bounds how long
# an edit made elsewhere (the admin, a campaign's UTM source) takes to be seen.
PUBLIC_FORM_CACHE_SECONDS = 60
# Each web process also keeps the forms it served for a few seconds, in front of Redis: a
# submission then costs no cache round trip either. A save forgets the copy of the process
# that made it at once; the other processes see the change within these seconds.
PUBLIC_FORM_LOCAL_SECONDS = 5
_LOCAL_MAX = 1000
_local: dict[str, tuple[float, PublicForm | None]] = {}
_MISSING = "missing"


@dataclass(frozen=True)
class PublicForm:
    """What the public endpoint and capture need of an active form, cached by key so that a
    submission reads no form, campaign or consent row from the database."""

    id: int
    key: str
    name: str
    title: str
    campaign_id: int
    # The lead's source when the visitor brings no utm_source: the campaign's, or its channel.
    campaign_source: str
    # ((field name, required), ...) in display order; email is always there and required.
    fields: tuple[tuple[str, bool], ...]
    consent_id: int | None
    consent_version: int | None
    consent_text: str
    thank_you_message: str
    redirect_url: str
    allowed_origins: frozenset[str]
    fast_track: bool

    @classmethod
    def of(cls, form: Form) -> PublicForm:
        campaign, consent = form.campaign, form.consent
        return cls(
            id=form.pk,
            key=form.key,
            name=form.name,
            title=form.title or form.name,
            campaign_id=campaign.pk,
            campaign_source=campaign.utm_source or campaign.channel,
            fields=tuple(
                (str(item["name"]), bool(item.get("required")))
                for item in form.fields
                if isinstance(item, dict) and "name" in item
            ),
            consent_id=consent.pk if consent else None,
            consent_version=consent.version if consent else None,
            consent_text=consent.text if consent else "",
            thank_you_message=str(form.thank_you_message),
            redirect_url=form.redirect_url,
            allowed_origins=frozenset(origins_parse(form.allowed_origins)),
            fast_track=form.fast_track,
        )


def origins_parse(text: str) -> list[str]:
    """The origins of a form's ``allowed_origins`` (one a line), as browsers send them."""
    return [line.strip().rstrip("/").lower() for line in text.splitlines() if line.strip()]


def _public_form_cache_key(key: str) -> str:
    return f"leadflow:form:v{_PUBLIC_FORM_CACHE_VERSION}:{key}"


def public_form_get(*, key: str) -> PublicForm | None:
    """The active form with this key, or None; from the cache when it can be.

    Unknown and inactive keys are cached too (as "missing"), so a bot trying keys costs
    no query either. A cache that is down means a database read, never a failed request.
    """
    now = monotonic()
    local = _local.get(key)
    if local is not None and local[0] > now:
        return local[1]
    found = _public_form_shared(key)
    if len(_local) >= _LOCAL_MAX:  # bots trying keys must not grow it without end
        _local.clear()
    _local[key] = (now + PUBLIC_FORM_LOCAL_SECONDS, found)
    return found


def _public_form_shared(key: str) -> PublicForm | None:
    cache_key = _public_form_cache_key(key)
    try:
        cached = cache.get(cache_key)
    except Exception as exc:  # the cache is down or stalled: read the database instead
        logger.warning("form cache unavailable: %r", exc)
        cached = None
    if isinstance(cached, PublicForm):
        return cached
    if cached == _MISSING:
        return None
    form = (
        Form.objects.select_related("campaign", "consent").filter(key=key, is_active=True).first()
    )
    found = PublicForm.of(form) if form else None
    try:
        cache.set(cache_key, found or _MISSING, PUBLIC_FORM_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("form cache unavailable: %r", exc)
    return found


def public_form_forget(*, key: str) -> None:
    """Drop the cached copies of a form (call after its change has committed)."""
    _local.pop(key, None)
    try:
        cache.delete(_public_form_cache_key(key))
    except Exception as exc:
        logger.warning("form cache unavailable, the copy expires by itself: %r", exc)
