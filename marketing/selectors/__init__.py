"""Marketing reads.

The package, by what it reads: ``listing`` (the lead list: its filters and their choices,
search, keyset pages, the count), ``history`` (the lead page: timeline, first and last
touch), ``public_form`` (the cached ``PublicForm`` capture works from), ``campaigns``
(campaigns with their funnel counts), ``suppression`` (the address hash the suppression
list is keyed on) and ``sweeper`` (leads whose scoring never ran). The names other code
uses are re-exported here, so callers need not know the parts.
"""

# Views call ``selectors.lead_list`` through this package, so a test may replace it here.
# The tunable constants are read where they are defined: patch them there
# (``listing.LEAD_COUNT_CAP``), not here, where only a copy would change.
from marketing.selectors.campaigns import campaign_get, campaign_list
from marketing.selectors.history import (
    Timeline,
    TimelineDay,
    TimelineEntry,
    lead_timeline,
    lead_touches,
)
from marketing.selectors.listing import (
    LEAD_PAGE_SIZE,
    LEAD_SORT_DEFAULT,
    LEAD_SORTS,
    LeadCount,
    LeadPage,
    campaign_options,
    lead_count,
    lead_list,
    lead_owner_options,
    lead_page,
    lead_source_options,
)
from marketing.selectors.public_form import (
    PublicForm,
    origins_parse,
    public_form_forget,
    public_form_get,
)
from marketing.selectors.suppression import email_hash
from marketing.selectors.sweeper import leads_unscored_ids

__all__ = [
    "LEAD_PAGE_SIZE",
    "LEAD_SORTS",
    "LEAD_SORT_DEFAULT",
    "LeadCount",
    "LeadPage",
    "PublicForm",
    "Timeline",
    "TimelineDay",
    "TimelineEntry",
    "campaign_get",
    "campaign_list",
    "campaign_options",
    "email_hash",
    "lead_count",
    "lead_list",
    "lead_owner_options",
    "lead_page",
    "lead_source_options",
    "lead_timeline",
    "lead_touches",
    "leads_unscored_ids",
    "origins_parse",
    "public_form_forget",
    "public_form_get",
]
