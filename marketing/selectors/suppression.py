"""Suppression: the key the suppression list keeps an address under (its hash, so the list
itself holds no personal data)."""

from __future__ import annotations

import hashlib


def email_hash(email: str) -> str:
    """The suppression list's key: SHA-256 of the normalised (trimmed, lower-case) address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()
