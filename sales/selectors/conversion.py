"""Account matching for conversion: the existing account a lead's person belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from sales.models import (
    Account,
)


@dataclass(frozen=True)
class AccountMatch:
    """The existing account a person belongs to, and how it was found."""

    BY_DOMAIN = "domain"
    BY_NAME = "name"

    account: Account | None
    by: str  # BY_DOMAIN, BY_NAME or "" (no match)
    domain: str  # the person's company domain; "" for a free-mail address


def account_match(*, email: str, company: str) -> AccountMatch:
    """By the email's domain (never a free-mail one: gmail.com is nobody's company), else
    by the company name, case-insensitively."""
    domain = email_domain(email)
    if domain in FREEMAIL_DOMAINS:
        domain = ""
    if domain:
        account = Account.objects.select_related("owner").filter(domain=domain).first()
        if account:
            return AccountMatch(account=account, by=AccountMatch.BY_DOMAIN, domain=domain)
    if company.strip():
        account = (
            Account.objects.select_related("owner")
            .filter(name__iexact=company.strip())
            .order_by("id")
            .first()
        )
        if account:
            return AccountMatch(account=account, by=AccountMatch.BY_NAME, domain=domain)
    return AccountMatch(account=None, by="", domain=domain)
