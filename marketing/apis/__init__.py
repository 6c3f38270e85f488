"""Marketing's REST API: leads (list, get, create, update, upsert, batch), activities,
campaigns, forms and CSV import jobs. Thin: parse, call one service or selector, render.

The package, by resource: ``leads`` (the lead serializers and examples, the lead
endpoints and the batch), ``activities`` (recording a lead's activity), ``campaigns``
(campaigns and capture forms) and ``import_jobs`` (CSV uploads, progress, rejected rows).
The names other code uses (leadflow/api/urls.py, the webhook subscribers) are re-exported
here.
"""

from marketing.apis.activities import ActivitiesApi
from marketing.apis.campaigns import CampaignApi, CampaignsApi, FormApi, FormsApi
from marketing.apis.import_jobs import ImportApi, ImportErrorsApi, ImportsApi
from marketing.apis.leads import LeadApi, LeadBatchApi, LeadOutput, LeadsApi, LeadUpsertApi

__all__ = [
    "ActivitiesApi",
    "CampaignApi",
    "CampaignsApi",
    "FormApi",
    "FormsApi",
    "ImportApi",
    "ImportErrorsApi",
    "ImportsApi",
    "LeadApi",
    "LeadBatchApi",
    "LeadOutput",
    "LeadUpsertApi",
    "LeadsApi",
]
