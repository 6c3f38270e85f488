"""API tokens: made by admins, shown once, kept as a hash, revoked or expired."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leadflow.api.models import ApiToken
from leadflow.api.scopes import SCOPES, scopes_for_role
from leadflow.errors import ApplicationError, NotAllowedError
from leadflow.models import AuditEntry, Role, User

TOKEN_PREFIX = "lf_"  # noqa: S105 -- a prefix, not a secret
# Write last_used_at at most this often per token: a busy integration must not turn every
# request into an UPDATE of the same row.
_LAST_USED_EVERY_SECONDS = 60


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """The token as made: ``raw`` is the only time anybody sees the secret."""

    token: ApiToken
    raw: str


@transaction.atomic
def token_create(
    *,
    created_by: User,
    user: User,
    name: str,
    scopes: list[str],
    kind: str = ApiToken.Kind.INTEGRATION,
    expires_at: datetime | None = None,
    rate_per_minute: int | None = None,
    rate_per_day: int | None = None,
) -> NewToken:
    """Make a token for ``user``. Only admins make tokens; a token cannot be given a scope
    that ``user``'s role does not have (an integration token acts as an admin)."""
    if not (created_by.is_superuser or created_by.role == Role.ADMIN):
        raise NotAllowedError(_("Only an admin can create API tokens."))
    if not name.strip():
        raise ApplicationError(_("Give the token a name."), field="name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApplicationError(
            _("Unknown scope “%(scope)s”.") % {"scope": unknown[0]}, field="scopes"
        )
    if not scopes:
        raise ApplicationError(_("Choose at least one scope."), field="scopes")
    beyond = sorted(set(scopes) - scopes_for_role(user))
    if beyond:
        raise ApplicationError(
            _("%(user)s's role does not allow “%(scope)s”.")
            % {"user": user.get_username(), "scope": beyond[0]},
            field="scopes",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(_("The expiry must be in the future."), field="expires_at")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        kind=kind,
        user=user,
        prefix=raw[:10],
        key_hash=token_hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
        rate_per_day=rate_per_day,
        created_by=created_by,
    )
    AuditEntry.objects.create(
        actor=created_by,
        action="api_token.create",
        subject_type="leadflow.apitoken",
        subject_id=token.pk,
        detail={"name": token.name, "user": user.get_username(), "scopes": token.scopes},
    )
    return NewToken(token=token, raw=raw)


@transaction.atomic
def token_revoke(*, token_id: int, actor: User) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        AuditEntry.objects.create(
            actor=actor,
            action="api_token.revoke",
            subject_type="leadflow.apitoken",
            subject_id=token.pk,
            detail={"name": token.name},
        )
    return token


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The usable token this string is, with its active user; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__team")
        .filter(key_hash=token_hash(raw))
        .first()
    )
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > (
        _LAST_USED_EVERY_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_scopes(token: ApiToken) -> frozenset[str]:
    """What the token may do now: its scopes, within its user's role of today."""
    return frozenset(token.scopes) & scopes_for_role(token.user)
