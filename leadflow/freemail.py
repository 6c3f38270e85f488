"""Free-mail domains: never a company's domain (no account matching, a fit penalty)."""

FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "tutanota.com",
        "hey.com",
        "pm.me",
    }
)


def email_domain(email: str | None) -> str:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else ""


def is_freemail(email: str | None) -> bool:
    return email_domain(email) in FREEMAIL_DOMAINS
