"""Lead pages: the filtered, sorted and paged lead list, a lead's detail (timeline,
touches, score and its history, prediction, privacy), and the possible duplicates."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from leadflow.errors import ApplicationError
from leadflow.http import HtmxHttpRequest
from leadflow.permissions import MARKETING, role_required
from marketing import duplicates, predictive, privacy, scoring, selectors
from marketing.forms import LeadFilterForm
from marketing.models import Lead


@role_required(*MARKETING)
def leads(request: HtmxHttpRequest) -> HttpResponse:
    """The lead list. Filters, sort and the page cursor all live in the query string, so
    a page can be bookmarked and the filters survive paging; htmx gets the rows only."""
    filters = LeadFilterForm(
        request.GET,
        campaigns=selectors.campaign_options(),
        owners=selectors.lead_owner_options(),
    )
    filters.is_valid()  # a bad field is left out of the filtering and shows its error
    chosen = filters.lead_filters()
    rows = selectors.lead_list(**chosen)
    page = selectors.lead_page(
        leads=rows, sort=filters.sort_order(), cursor=request.GET.get("cursor", "")
    )
    context = {
        "filters": filters,
        "filtered": bool(chosen),
        "page": page,
        "leads": page.leads,
        "count": selectors.lead_count(leads=rows, filtered=bool(chosen), page=page),
    }
    # A history restore (back button after the cache expired) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "marketing/leads.html#lead-rows", context)
    context["sources"] = selectors.lead_source_options()
    return render(request, "marketing/leads.html", context)


@role_required(*MARKETING)
def lead_detail(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(
        Lead.objects.select_related(
            "campaign",
            "owner",
            "first_touch__campaign",
            "first_touch__form",
            "last_touch__campaign",
            "last_touch__form",
        ),
        pk=lead_id,
    )
    first_touch, last_touch = selectors.lead_touches(lead=lead)
    return render(
        request,
        "marketing/lead_detail.html",
        {
            "lead": lead,
            "timeline": selectors.lead_timeline(lead=lead),
            "first_touch": first_touch,
            "last_touch": last_touch,
            "score": scoring.lead_score_explain(lead_id=lead.pk),
            "score_history": scoring.lead_score_history(lead_id=lead.pk),
            "prediction": predictive.lead_prediction(lead=lead),
            "chart_labels": {"fit": _("Fit"), "engagement": _("Engagement")},
            "privacy": privacy.lead_privacy(lead=lead, base_url=request.build_absolute_uri("/")),
        },
    )


# --- Duplicates ------------------------------------------------------------------------


def _positive_int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 2**63 else None


@role_required(*MARKETING)
def duplicates_list(request: HtmxHttpRequest) -> HttpResponse:
    lead_id = _positive_int(request.GET.get("lead"))
    result, error = None, ""
    try:
        result = duplicates.duplicate_pairs(
            page=_positive_int(request.GET.get("page")) or 1,
            lead_id=lead_id,
            fresh=request.GET.get("refresh") == "1",
        )
    except ApplicationError as exc:
        error = exc.message
    context = {
        "result": result,
        "error": error,
        "lead": Lead.objects.filter(pk=lead_id).first() if lead_id else None,
    }
    if request.htmx:
        return render(request, "marketing/duplicates.html#pairs", context)
    return render(request, "marketing/duplicates.html", context)


# No login and no CSRF token: the signed token in the URL is the credential, and mail
