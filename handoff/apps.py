from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoffConfig(AppConfig):
    name = "handoff"
    verbose_name = _("Handoff")

    def ready(self) -> None:
        # The handoff app is where marketing and sales meet: it reacts to their domain
        # events (lead qualified, deal closed) without either of them importing it.
        from handoff import subscribers

        subscribers.register()
