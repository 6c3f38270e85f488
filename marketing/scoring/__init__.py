"""Scoring: rules compiled into SQL, a ledger reconciled set-wise, decay, grades and MQLs.

One definition serves every path. ``_wanted_*`` compile the active rules into the points
each lead and each activity should carry; scoring one lead, re-scoring every lead after a
rule change, the daily decay and the what-if preview all run that same SQL, over one lead,
a range of leads, or (for the preview) without writing anything.

The ledger (``ScoreEntry``) holds deltas: scoring writes, per (lead, rule, activity), the
difference between what the rules give and what the ledger already sums to, so a second
run writes nothing and a rule change writes exactly its corrections. A lead's fit is the
sum of its fit rows; its engagement is the sum of its engagement rows, each halved every
``half_life_days`` since the day of its activity. Decay factors are whole days (UTC), so
a score is stable within a day, and the arithmetic is exact: each factor is an integer of
billionths, summed as integers and rounded once (half away from zero).

Concurrency: scoring one lead takes a shared advisory lock, a re-score batch the exclusive
one, so a batch never reconciles a lead while its scoring task does the same. Capture
takes neither and keeps running during a re-score.

The parts, each importing only those above it:

- ``rules``: the settings row, the fields and operators rules may use, validation;
- ``sql``: the rules compiled into SQL, and the decay arithmetic;
- ``ledger``: reconciling the ledger and bringing leads to it, the scoring locks;
- ``rescore``: re-score jobs over every lead, the daily decay;
- ``changes``: saving a rule or the settings (with its change record), the what-if;
- ``lead``: scoring one lead, resetting its engagement;
- ``explain``: a score explained rule by rule and in words, its history.
"""

from marketing.scoring.changes import (
    CONFIG_FIELDS,
    RULE_FIELDS,
    Preview,
    config_save,
    config_snapshot,
    rule_build,
    rule_save,
    rule_snapshot,
    whatif,
    whatif_config,
    whatif_rule,
)
from marketing.scoring.explain import (
    ExplainLine,
    Explanation,
    grade_reaches,
    lead_score_explain,
    lead_score_history,
)
from marketing.scoring.lead import lead_engagement_reset, lead_score
from marketing.scoring.ledger import (
    LEAD,
    QUALIFIABLE_ALL,
    QUALIFIABLE_ONE,
    SCORING_LOCK,
    RunResult,
    active_rules,
    ledger_reconcile,
    ledger_run,
    lock_for_batch,
    lock_for_one_lead,
    roomy_memory,
)
from marketing.scoring.rescore import (
    RESCORE_BATCH,
    decay_start,
    rescore_fail,
    rescore_run,
    rescore_stalled_ids,
    rescore_start,
)
from marketing.scoring.rules import (
    FAST_TRACK_KINDS,
    FIT_FIELDS,
    NUMBER_OPERATORS,
    TEXT_OPERATORS,
    as_of,
    config,
    config_clean,
    grade_for,
    rule_clean,
    sql_regex,
)
from marketing.scoring.sql import DECAY_SCALE, NO_CAP, Query, decay_factor

__all__ = [
    "CONFIG_FIELDS",
    "DECAY_SCALE",
    "FAST_TRACK_KINDS",
    "FIT_FIELDS",
    "LEAD",
    "NO_CAP",
    "NUMBER_OPERATORS",
    "QUALIFIABLE_ALL",
    "QUALIFIABLE_ONE",
    "RESCORE_BATCH",
    "RULE_FIELDS",
    "SCORING_LOCK",
    "TEXT_OPERATORS",
    "ExplainLine",
    "Explanation",
    "Preview",
    "Query",
    "RunResult",
    "active_rules",
    "as_of",
    "config",
    "config_clean",
    "config_save",
    "config_snapshot",
    "decay_factor",
    "decay_start",
    "grade_for",
    "grade_reaches",
    "lead_engagement_reset",
    "lead_score",
    "lead_score_explain",
    "lead_score_history",
    "ledger_reconcile",
    "ledger_run",
    "lock_for_batch",
    "lock_for_one_lead",
    "rescore_fail",
    "rescore_run",
    "rescore_stalled_ids",
    "rescore_start",
    "roomy_memory",
    "rule_build",
    "rule_clean",
    "rule_save",
    "rule_snapshot",
    "sql_regex",
    "whatif",
    "whatif_config",
    "whatif_rule",
]
