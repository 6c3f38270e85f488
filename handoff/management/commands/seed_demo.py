"""``manage.py seed_demo``: load the demo data set once (see ``handoff.demo``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from handoff.demo import ADMIN_USERNAME, DEMO_LEADS, PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load demo users, campaigns, leads, handoffs and deals, unless already loaded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=DEMO_LEADS, help="How many leads (default %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        counts = seed_demo(leads=options["leads"])
        if counts is None:
            self.stdout.write("Demo data already loaded")
            return
        for name, count in counts.items():
            self.stdout.write(f"  {name:<20} {count:>7,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {time.monotonic() - started:.1f} s. "
                f"Sign in as {ADMIN_USERNAME} (or rep1, manager1, marketer1) "
                f"with the password {PASSWORD!r}."
            )
        )
