from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadflowConfig(AppConfig):
    name = "leadflow"
    verbose_name = _("LeadFlow core")

    def ready(self) -> None:
        # Domain events that become outgoing webhooks (see leadflow.api.subscribers).
        from leadflow.api import subscribers

        subscribers.register()
        # Sign-in lockout and the audit rows of every sign-in (signal receivers).
        from leadflow import auth  # noqa: F401
