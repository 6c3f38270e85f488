"""Marketing writes: campaigns, forms, capture, scoring and lead stage changes.

The package, by part: ``capture`` (a form submission stored: normalisation, its two SQL
statements, dedupe keys, consent), ``leads`` (stage and owner changes, recycling, the
scoring entry points), ``activities`` (what a lead did, recorded and scored) and
``campaigns`` (campaigns and their forms). The names other code uses (``handoff`` imports
this package as ``marketing``) are re-exported here, so callers need not know the parts.
"""

# Re-exported because tests catch it as ``services.ApplicationError``.
from leadflow.errors import ApplicationError
from marketing.services.activities import ACTIVITY_CLOCK_SKEW, activity_record
from marketing.services.campaigns import (
    campaign_create,
    campaign_update,
    form_create,
    form_update,
)
from marketing.services.capture import (
    ATTRIBUTION_FIELDS,
    DEDUPE_WINDOW_SECONDS,
    CaptureInput,
    CaptureResult,
    capture_dedupe_keys,
    lead_capture,
    normalize_email,
    normalize_phone,
)
from marketing.services.leads import (
    GRADE_ORDER,
    LEAD,
    QUALIFIABLE,
    grade_at_least,
    lead_owner_change,
    lead_recycle,
    lead_score_breakdown,
    lead_stage_change,
)

__all__ = [
    "ACTIVITY_CLOCK_SKEW",
    "ATTRIBUTION_FIELDS",
    "DEDUPE_WINDOW_SECONDS",
    "GRADE_ORDER",
    "LEAD",
    "QUALIFIABLE",
    "ApplicationError",
    "CaptureInput",
    "CaptureResult",
    "activity_record",
    "campaign_create",
    "campaign_update",
    "capture_dedupe_keys",
    "form_create",
    "form_update",
    "grade_at_least",
    "lead_capture",
    "lead_owner_change",
    "lead_recycle",
    "lead_score_breakdown",
    "lead_stage_change",
    "normalize_email",
    "normalize_phone",
]
