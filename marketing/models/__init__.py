"""Marketing's records.

The package, by sub-domain: ``campaigns`` (campaigns, capture forms and their consent
wording), ``leads`` (leads with their stage and grade, and their touchpoints), ``scoring``
(rules, settings, changes, re-score jobs, the score ledger and the predictive model),
``privacy`` (consent records and the suppression list) and ``import_jobs`` (CSV imports).
Every name other code uses is re-exported here, so callers import from
``marketing.models`` and need not know the parts.
"""

# The migrations name ``marketing.models._form_key`` and ``marketing.models.default_form_fields``
# as field defaults: both must stay reachable here, or the old migrations stop loading.
#
# The parts are imported in the order their models stood in the old single module: the app
# registry keeps models in import order, and each model's reverse relations (which order
# the cascading deletes and SET NULL updates of a delete) follow it.
# isort: off
from marketing.models.campaigns import (
    FORM_FIELD_CHOICES,
    Campaign,
    Channel,
    ConsentText,
    Form,
    _form_key,
    default_form_fields,
)
from marketing.models.leads import Grade, Lead, Stage, Touchpoint
from marketing.models.scoring import (
    PredictiveModel,
    RescoreJob,
    ScoreEntry,
    ScoringChange,
    ScoringConfig,
    ScoringRule,
)
from marketing.models.privacy import ConsentRecord, LawfulBasis, Suppression
from marketing.models.import_jobs import ImportJob
# isort: on

__all__ = [
    "FORM_FIELD_CHOICES",
    "Campaign",
    "Channel",
    "ConsentRecord",
    "ConsentText",
    "Form",
    "Grade",
    "ImportJob",
    "LawfulBasis",
    "Lead",
    "PredictiveModel",
    "RescoreJob",
    "ScoreEntry",
    "ScoringChange",
    "ScoringConfig",
    "ScoringRule",
    "Stage",
    "Suppression",
    "Touchpoint",
    "_form_key",
    "default_form_fields",
]
