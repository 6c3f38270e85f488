"""The predictive score: the probability that a lead becomes a customer.

A naive Bayes model over a few fit attributes and the campaign, learned nightly from the
history of closed leads (won: customer; lost: recycled or disqualified). It is small and
transparent on purpose: a lead's log-odds are the prior plus one weight per attribute, so
the page can name the attributes that pushed it up or down. Counting and scoring are SQL
over the whole table; the model itself is a few hundred numbers in one JSON row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketing.models import Lead, PredictiveModel

# Attribute → SQL on lead ``l`` giving its value as text. Values are bucketed so that a
# few hundred closed leads are enough to learn from.
FEATURES = {
    "size": (
        "CASE WHEN l.company_size IS NULL THEN 'unknown' WHEN l.company_size < 50 THEN '<50' "
        "WHEN l.company_size < 200 THEN '50-199' WHEN l.company_size < 1000 THEN '200-999' "
        "ELSE '1000+' END"
    ),
    "country": "COALESCE(NULLIF(l.country, ''), 'unknown')",
    "title": (
        "CASE WHEN l.job_title = '' THEN 'unknown' WHEN l.job_title ~* "
        "'\\y(VP|Vice President|Head|Director|Chief|C[EOT]O|Founder|Owner)\\y' "
        "THEN 'senior' ELSE 'other' END"
    ),
    "email": (
        "CASE WHEN l.email IS NULL THEN 'unknown' WHEN split_part(lower(l.email), '@', 2) "
        "= ANY(%(freemail)s) THEN 'free-mail' ELSE 'company' END"
    ),
    "campaign": "COALESCE(l.campaign_id::text, 'none')",
}
FEATURE_LABELS = {
    "size": gettext_lazy("company size"),
    "country": gettext_lazy("country"),
    "title": gettext_lazy("job title"),
    "email": gettext_lazy("email address"),
    "campaign": gettext_lazy("campaign"),
}
WON = ["customer"]
LOST = ["recycled", "disqualified"]
# Laplace smoothing: an attribute value seen once does not swing the odds much.
ALPHA = 1.0
MIN_SAMPLES = 40
APPLY_BATCH = 100_000


def _freemail() -> list[str]:
    from leadflow.freemail import FREEMAIL_DOMAINS

    return sorted(FREEMAIL_DOMAINS)


def _counts(where: str) -> tuple[dict[str, dict[str, tuple[int, int]]], int, int]:
    """Per attribute value, (won, lost) among the closed leads that ``where`` admits."""
    selects = " UNION ALL ".join(
        f"SELECT '{name}' AS feature, {expr} AS value, l.stage = ANY(%(won)s) AS won "
        f"FROM marketing_lead AS l WHERE l.stage = ANY(%(closed)s) AND l.erased_at IS NULL "
        f"AND {where}"
        for name, expr in FEATURES.items()
    )
    sql = (
        "SELECT feature, value, COUNT(*) FILTER (WHERE won), COUNT(*) FILTER (WHERE NOT won) "
        f"FROM ({selects}) AS f GROUP BY feature, value"
    )
    counts: dict[str, dict[str, tuple[int, int]]] = {name: {} for name in FEATURES}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"won": WON, "closed": WON + LOST, "freemail": _freemail()})
        for feature, value, won, lost in cursor.fetchall():
            counts[feature][value] = (won, lost)
    first = next(iter(FEATURES))
    won_total = sum(won for won, _lost in counts[first].values())
    lost_total = sum(lost for _won, lost in counts[first].values())
    return counts, won_total, lost_total


def _fit(where: str) -> dict[str, Any] | None:
    """Naive Bayes weights (log-likelihood ratios) from the closed leads ``where`` admits."""
    counts, won, lost = _counts(where)
    if won == 0 or lost == 0 or won + lost < MIN_SAMPLES:
        return None
    weights: dict[str, dict[str, float]] = {}
    unseen: dict[str, float] = {}
    for feature, values in counts.items():
        k = len(values) + 1  # one more for values not seen yet
        won_den, lost_den = won + ALPHA * k, lost + ALPHA * k
        weights[feature] = {
            value: math.log((w + ALPHA) / won_den) - math.log((l_ + ALPHA) / lost_den)
            for value, (w, l_) in values.items()
        }
        unseen[feature] = math.log(ALPHA / won_den) - math.log(ALPHA / lost_den)
    return {
        "prior": math.log(won / lost),
        "weights": weights,
        "unseen": unseen,
        "samples": won + lost,
        "positives": won,
    }


def _log_odds_sql(params_key: str = "model") -> str:
    terms = " + ".join(
        f"COALESCE((%({params_key})s::jsonb -> 'weights' -> '{name}' ->> ({expr}))::float8, "
        f"(%({params_key})s::jsonb -> 'unseen' ->> '{name}')::float8)"
        for name, expr in FEATURES.items()
    )
    return f"(%({params_key})s::jsonb ->> 'prior')::float8 + {terms}"


def _auc(pairs: list[tuple[float, bool]]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    positives = sum(1 for _score, won in pairs if won)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    pairs = sorted(pairs)
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += average_rank * sum(1 for _s, won in pairs[i:j] if won)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def holdout_auc(*, train: str, test: str) -> float | None:
    """Learn on the closed leads ``train`` admits, rank those ``test`` admits: the AUC."""
    model = _fit(train)
    if model is None:
        return None
    import json

    sql = (
        f"SELECT {_log_odds_sql()}, l.stage = ANY(%(won)s) FROM marketing_lead AS l "
        f"WHERE l.stage = ANY(%(closed)s) AND l.erased_at IS NULL AND {test}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "model": json.dumps(model),
                "won": WON,
                "closed": WON + LOST,
                "freemail": _freemail(),
            },
        )
        return _auc([(float(score), bool(won)) for score, won in cursor.fetchall()])


@transaction.atomic
def model_train() -> PredictiveModel | None:
    """Learn from every closed lead; the AUC comes from learning on the even ids and
    ranking the odd ones (a held-out half). None while history is too thin."""
    model = _fit("true")
    if model is None:
        return None
    return PredictiveModel.objects.create(
        samples=model["samples"],
        positives=model["positives"],
        auc=holdout_auc(train="l.id %% 2 = 0", test="l.id %% 2 = 1"),
        params=model,
    )


def model_apply(*, model: PredictiveModel) -> int:
    """Write every lead's probability, set-wise, a batch of ids per transaction."""
    import json

    sql = (
        "UPDATE marketing_lead AS l SET win_probability = round((1 / (1 + exp(-LEAST(50, "
        f"GREATEST(-50, {_log_odds_sql()})))))::numeric, 4)::float8 "
        "WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.erased_at IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), -1) FROM marketing_lead")
        first, last = cursor.fetchone()
    updated = 0
    payload = json.dumps(model.params)
    for lo in range(first, last + 1, APPLY_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                sql,
                {"model": payload, "freemail": _freemail(), "lo": lo, "hi": lo + APPLY_BATCH - 1},
            )
            updated += cursor.rowcount
    return updated


def model_train_and_apply() -> PredictiveModel | None:
    model = model_train()
    if model is not None:
        model_apply(model=model)
    return model


def model_latest() -> PredictiveModel | None:
    return PredictiveModel.objects.first()


@dataclass(frozen=True)
class Factor:
    label: str
    value: str
    weight: float


def lead_factors(*, lead: Lead, model: PredictiveModel, top: int = 3) -> list[Factor]:
    """The attributes that moved this lead's odds most, with their direction."""
    exprs = ", ".join(f"{expr} AS {name}" for name, expr in FEATURES.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {exprs} FROM marketing_lead AS l WHERE l.id = %(id)s",
            {"id": lead.pk, "freemail": _freemail()},
        )
        row = cursor.fetchone()
    if row is None:
        return []
    params = model.params
    factors = []
    for (name, _expr), value in zip(FEATURES.items(), row, strict=True):
        weight = params["weights"][name].get(value, params["unseen"][name])
        shown = value
        if name == "campaign" and value != "none":
            shown = lead.campaign.name if lead.campaign else value
        factors.append(Factor(label=str(FEATURE_LABELS[name]), value=shown, weight=weight))
    factors.sort(key=lambda factor: -abs(factor.weight))
    return factors[:top]


def factor_sentence(factor: Factor) -> str:
    if factor.weight >= 0:
        return _("%(label)s “%(value)s” raises the odds") % {
            "label": factor.label,
            "value": factor.value,
        }
    return _("%(label)s “%(value)s” lowers the odds") % {
        "label": factor.label,
        "value": factor.value,
    }


@dataclass(frozen=True)
class Prediction:
    probability: float
    trained_at: datetime
    auc: float | None
    factors: list[str]


def lead_prediction(*, lead: Lead) -> Prediction | None:
    """The lead's probability with the sentences that explain it; None before a model."""
    model = model_latest()
    if model is None or lead.win_probability is None:
        return None
    return Prediction(
        probability=lead.win_probability,
        trained_at=model.trained_at,
        auc=model.auc,
        factors=[factor_sentence(factor) for factor in lead_factors(lead=lead, model=model)],
    )
