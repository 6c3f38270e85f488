"""Demo data: four believable months of LeadFlow, written once into an empty database.

``seed_demo()`` is the one place that writes many apps' tables directly. Running the
services row by row for 5,000 leads would take minutes and stamp every row with today's
date (``auto_now_add``), so the story is simulated in Python and the rows go in through
``COPY`` with their real timestamps, in one transaction. The numbers still come from the
services' own rules: the ledger is built with marketing's fit-rule evaluation and grade
bands, the handoffs with the ordered qualification rules and the SLA tiers, and each row
is what the services would have written had the story happened in real time, events
included. Ids are drawn from the tables' sequences up front so rows can point at each other
before they exist.

The story is told by one object, ``seed._Demo``, made of a mixin per part; the parts live
in submodules:

- ``cast``: the constants, teams, users and campaigns, and their setup (with the
  qualification rules, the scoring rules and the pipeline).
- ``people``: the countries, names, companies and job titles the leads are made of.
- ``story``: the rows being built, and the shared state and helpers (events, stages).
- ``leads``: marketing: each lead's touchpoints and scoring, up to its MQL moment.
- ``handoffs``: qualification, routing, the SLA clocks, and the rep's answer.
- ``deals``: sales: accounts, contacts, deals and their road through the pipeline.
- ``writing``: ids drawn from the sequences, and rows written with COPY.
- ``seed``: ``seed_demo`` itself, with the month's targets and the open SLA clocks.
"""

from handoff.demo.cast import ADMIN_USERNAME, DEMO_LEADS, PASSWORD, SEED
from handoff.demo.seed import seed_demo

__all__ = ["ADMIN_USERNAME", "DEMO_LEADS", "PASSWORD", "SEED", "seed_demo"]
