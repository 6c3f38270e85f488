"""Marketing pages: campaigns, forms, the lead list, and the public capture form.

The views live in submodules and are all importable from here (``marketing.urls`` uses
them so):

- ``base``: what the signed-in pages share.
- ``campaign_pages``: campaigns (list, detail, edit) and the form builder.
- ``lead_pages``: the lead list, a lead's detail, the possible duplicates.
- ``public``: the public form endpoint (hosted page, submissions, embed definition, CORS,
  rate limits) and the unsubscribe page; no login.
- ``import_pages``: CSV import (upload, mapping and preview, progress, retry, report).

The scoring pages are ``marketing.scoring_views``.
"""

from marketing.views.campaign_pages import campaign_detail, campaign_edit, campaigns, form_edit
from marketing.views.import_pages import (
    import_detail,
    import_preview,
    import_progress,
    import_report,
    import_retry,
    imports_page,
)
from marketing.views.lead_pages import duplicates_list, lead_detail, leads
from marketing.views.public import public_form, public_form_definition, unsubscribe

__all__ = [
    "campaign_detail",
    "campaign_edit",
    "campaigns",
    "duplicates_list",
    "form_edit",
    "import_detail",
    "import_preview",
    "import_progress",
    "import_report",
    "import_retry",
    "imports_page",
    "lead_detail",
    "leads",
    "public_form",
    "public_form_definition",
    "unsubscribe",
]
