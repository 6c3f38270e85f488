"""Routing: which team and which rep gets a handoff, the team pool, and claiming from it.

Routing runs in the transaction that creates the handoff (never a batch): ordered
first-match rules pick the team (territory, segment, or the existing account's owner),
then the team's distribution picks a rep among those who are neither away nor at
capacity. Nobody available leaves the handoff in the team pool.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from handoff import sla
from handoff.models import Handoff, RepWeight, RoutingRule, TeamRouting
from leadflow.db import prepared_fetchone
from leadflow.errors import ApplicationError, ConflictError, NotAllowedError
from leadflow.freemail import FREEMAIL_DOMAINS
from leadflow.models import Event, NotificationKind, Role, User
from leadflow.notifications import notification_send
from leadflow.services import audit_record, event_record
from marketing import services as marketing
from marketing.models import Lead
from sales.models import Account

HANDOFF = "handoff.handoff"


@dataclass(frozen=True)
class Destination:
    team_id: int
    owner: User | None  # the existing account's owner, who wins if available
    reason: str


def _account_owner(lead: Lead) -> User | None:
    """The owner of the account of the lead's company email domain, if a rep."""
    domain = (lead.email or "").rpartition("@")[2].lower()
    if not domain or domain in FREEMAIL_DOMAINS:
        return None
    account = Account.objects.filter(domain=domain).select_related("owner").first()
    owner = account.owner if account else None
    if owner is None or not owner.is_active or owner.role != Role.REP or owner.team_id is None:
        return None
    return owner


def _rule_matches(rule: RoutingRule, lead: Lead) -> bool:
    if rule.kind == RoutingRule.Kind.COUNTRY:
        return bool(lead.country) and lead.country.upper() in rule.country_codes
    if rule.kind == RoutingRule.Kind.COMPANY_SIZE:
        size = lead.company_size
        return (
            size is not None
            and (rule.min_company_size is None or size >= rule.min_company_size)
            and (rule.max_company_size is None or size <= rule.max_company_size)
        )
    return False


def routing_destination(*, handoff: Handoff) -> Destination:
    """The first matching routing rule decides; none matches: the qualification's team."""
    lead = handoff.lead
    for rule in RoutingRule.objects.filter(is_active=True):
        if rule.kind == RoutingRule.Kind.ACCOUNT_OWNER:
            owner = _account_owner(lead)
            if owner is not None and owner.team_id is not None:
                return Destination(owner.team_id, owner, f"account owner ({rule.name})")
        elif rule.team_id is not None and _rule_matches(rule, lead):
            return Destination(rule.team_id, None, f"rule: {rule.name}")
    return Destination(handoff.team_id, None, "team of the qualification rule")


def _available_reps(
    team_id: int, routing: TeamRouting, exclude: Collection[int] = ()
) -> list[User]:
    """Active reps of the team who are not away and below the team's capacity, by id,
    each annotated with ``open_count`` (their open handoffs)."""
    reps = (
        User.objects.filter(team_id=team_id, role=Role.REP, is_active=True, is_away=False)
        .exclude(pk__in=list(exclude))
        .annotate(
            open_count=Count("handoffs", filter=Q(handoffs__status__in=Handoff.OPEN_STATUSES))
        )
        .order_by("id")
    )
    if routing.max_open_per_rep is not None:
        reps = reps.filter(open_count__lt=routing.max_open_per_rep)
    return list(reps)


def _after_last(reps: list[User], last_id: int | None) -> list[User]:
    """The reps in round-robin order, starting after the last one picked."""
    if last_id is None:
        return reps
    cut = next((i for i, rep in enumerate(reps) if rep.pk > last_id), len(reps))
    return reps[cut:] + reps[:cut]


def _pick_weighted(reps: list[User]) -> User:
    weights = {w.user_id: w for w in RepWeight.objects.filter(user__in=reps)}
    for rep in reps:
        if rep.pk not in weights:
            weights[rep.pk] = RepWeight.objects.create(user=rep)
    total = 0
    for rep in reps:
        row = weights[rep.pk]
        row.credit += row.weight
        total += row.weight
    chosen = max(reps, key=lambda rep: (weights[rep.pk].credit, -rep.pk))
    weights[chosen.pk].credit -= total
    RepWeight.objects.bulk_update([weights[rep.pk] for rep in reps], ["credit"])
    return chosen


def _pick(routing: TeamRouting, reps: list[User]) -> User:
    ordered = _after_last(reps, routing.last_rep_id)
    if routing.strategy == TeamRouting.Strategy.WEIGHTED:
        return _pick_weighted(reps)
    if routing.strategy == TeamRouting.Strategy.LEAST_LOADED:
        # Fewest open handoffs; among equals, round-robin order.
        return min(ordered, key=lambda rep: rep.open_count)  # type: ignore[attr-defined]
    return ordered[0]


def _locked_routing(team_id: int) -> TeamRouting:
    routing, _created = TeamRouting.objects.get_or_create(team_id=team_id)
    return TeamRouting.objects.select_for_update().get(pk=routing.pk)


def rep_pick(*, team_id: int, exclude: Collection[int] = ()) -> User | None:
    """The next rep of the team by its distribution, or None (everyone away or full).
    Locks the team's routing row until the transaction ends, so picks take turns."""
    routing = _locked_routing(team_id)
    reps = _available_reps(team_id, routing, exclude)
    if not reps:
        return None
    rep = _pick(routing, reps)
    routing.last_rep = rep
    routing.save(update_fields=["last_rep"])
    return rep


def _owner_available(owner: User) -> bool:
    routing = _locked_routing(owner.team_id)  # type: ignore[arg-type]
    return any(rep.pk == owner.pk for rep in _available_reps(owner.team_id, routing))  # type: ignore[arg-type]


def route(*, handoff: Handoff) -> Handoff:
    """Route a new handoff and start its SLA clocks; the rep (if any) is notified."""
    destination = routing_destination(handoff=handoff)
    if destination.team_id != handoff.team_id:
        handoff.team_id = destination.team_id
        handoff.save(update_fields=["team"])
        handoff.refresh_from_db(fields=["team"])
    rep: User | None = None
    reason = destination.reason
    if destination.owner is not None and _owner_available(destination.owner):
        rep = destination.owner
    else:
        rep = rep_pick(team_id=destination.team_id)
        if rep is not None:
            routing = TeamRouting.objects.get(team_id=destination.team_id)
            reason = f"{reason}; {routing.get_strategy_display()}"
    if rep is None:
        handoff.routing_reason = f"{reason}; team pool: no rep available"[:300]
        handoff.save(update_fields=["routing_reason"])
    else:
        assign(handoff=handoff, rep=rep, reason=reason, actor=None)
    sla.sla_start(handoff=handoff, start=handoff.handed_off_at)
    return handoff


def assign(*, handoff: Handoff, rep: User, reason: str, actor: User | None) -> None:
    """Give the handoff to ``rep``: owner event, the lead's owner, the clocks, a notification."""
    old = handoff.assigned_to.username if handoff.assigned_to else ""
    handoff.assigned_to = rep
    handoff.assigned_at = timezone.now()
    handoff.routing_reason = reason[:300]
    handoff.save(update_fields=["assigned_to", "assigned_at", "routing_reason"])
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        kind=Event.Kind.OWNER,
        actor=actor,
        rule="" if actor else f"routing: {reason}",
        reason=reason if actor else "",
        old_value=old,
        new_value=rep.username,
    )
    marketing.lead_owner_change(
        lead_id=handoff.lead_id,
        owner=rep,
        actor=actor,
        rule="" if actor else "routing",
        reason=reason,
    )
    sla.sla_hand_over(handoff_id=handoff.pk, rep=rep)
    notify_assigned(handoff=handoff, rep=rep)


def notify_assigned(*, handoff: Handoff, rep: User) -> None:
    lead = handoff.lead
    notification_send(
        user=rep,
        kind=NotificationKind.HANDOFF_ASSIGNED,
        subject=_("New %(tier)s handoff: %(lead)s")
        % {"tier": handoff.get_sla_tier_display(), "lead": lead.full_name or lead.company},
        body=_("Accept or reject it before the deadline."),
        url=reverse("handoff:detail", kwargs={"handoff_id": handoff.pk}),
        # Per assignment: a handoff re-routed back to the same rep later is news again.
        dedupe_key=f"handoff.assigned:{handoff.pk}:{handoff.assigned_at:%Y%m%d%H%M%S%f}",
    )


def reroute_after_breach(
    *, handoff: Handoff, lost_by: User | None, now: datetime.datetime
) -> User | None:
    """The rep who let the accept deadline pass loses the handoff to the next rep (or the
    pool), with an event; the new holder gets a fresh accept clock."""
    exclude = [lost_by.pk] if lost_by else []
    rep = rep_pick(team_id=handoff.team_id, exclude=exclude)
    if rep is None:
        old = handoff.assigned_to.username if handoff.assigned_to else ""
        handoff.assigned_to = None
        handoff.assigned_at = None
        handoff.routing_reason = "re-routed after a missed deadline: team pool"
        handoff.save(update_fields=["assigned_to", "assigned_at", "routing_reason"])
        event_record(
            subject_type=HANDOFF,
            subject_id=handoff.pk,
            kind=Event.Kind.OWNER,
            rule="sla: re-route",
            reason="accept deadline missed; nobody available",
            old_value=old,
            new_value="",
        )
        marketing.lead_owner_change(
            lead_id=handoff.lead_id, owner=None, rule="sla: re-route", reason="deadline missed"
        )
        sla.sla_hand_over(handoff_id=handoff.pk, rep=None)
    else:
        assign(handoff=handoff, rep=rep, reason="re-routed after a missed deadline", actor=None)
    sla.sla_restart_accept(handoff=handoff, now=now)
    return rep


# --- Claiming from the pool -------------------------------------------------------------


def _check_can_claim(user: User) -> TeamRouting:
    if user.role != Role.REP or user.team_id is None:
        raise NotAllowedError(_("Only a rep of the team can claim from its pool."))
    routing, _created = TeamRouting.objects.get_or_create(team_id=user.team_id)
    if routing.max_open_per_rep is not None:
        open_count = Handoff.objects.filter(
            assigned_to=user, status__in=Handoff.OPEN_STATUSES
        ).count()
        if open_count >= routing.max_open_per_rep:
            raise ConflictError(
                _("You have %(n)s open handoffs, the team's limit. Close some first.")
                % {"n": open_count}
            )
    return routing


# One statement claims the hottest, oldest unclaimed handoff of the team that nobody else
# is taking right now (SKIP LOCKED), within the rep's capacity, and writes everything a
# claim changes: the handoff, its owner event, the lead's owner and its event, and the
# running clocks' holder. Claiming is the hot path of a busy pool; one round trip keeps it
# close to a bare SKIP LOCKED loop (bench/route.py). It writes the lead's owner as
# marketing.services.lead_owner_change does (same columns, same event), in SQL.
_CLAIM_NEXT = """
WITH cap AS (
    SELECT COALESCE(
        (SELECT COALESCE(r.max_open_per_rep, 2147483647) FROM handoff_teamrouting r
         WHERE r.team_id = %(team)s),
        %(default_cap)s
    ) AS n
), next AS (
    -- The head of the pool, taken as a bare SKIP LOCKED read; the capacity check sits
    -- above the lock, not beside it. A condition under FOR UPDATE is re-evaluated, with
    -- its sub-selects, for every row another claimer has just taken (EvalPlanQual), and
    -- under contention that doubled the cost of a claim.
    SELECT id FROM (
        SELECT id FROM handoff_handoff
        WHERE team_id = %(team)s AND status = 'pending' AND assigned_to_id IS NULL
        ORDER BY sla_tier, handed_off_at, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) AS head
    -- Evaluated once, before the head is read (a one-time filter). Counting stops at
    -- the cap: the cost does not grow with a rep's queue, and the plan stays the same
    -- for every rep, so the prepared statement keeps one plan.
    WHERE CASE WHEN (SELECT n FROM cap) = 2147483647 THEN true
        ELSE (SELECT count(*) FROM (
                  SELECT 1 FROM handoff_handoff m WHERE m.assigned_to_id = %(user)s
                      AND m.status IN ('pending', 'accepted')
                  LIMIT (SELECT n FROM cap)) AS open_ones) < (SELECT n FROM cap) END
), claimed AS (
    UPDATE handoff_handoff h
    SET assigned_to_id = %(user)s, assigned_at = now(), routing_reason = 'claimed from the pool'
    FROM next WHERE h.id = next.id
    RETURNING h.id, h.lead_id
), old_lead AS (
    SELECT l.id, COALESCE(u.username, '') AS old_owner
    FROM marketing_lead l JOIN claimed c ON c.lead_id = l.id
    LEFT JOIN leadflow_user u ON u.id = l.owner_id
    WHERE l.owner_id IS DISTINCT FROM %(user)s
), lead_owner AS (
    UPDATE marketing_lead l SET owner_id = %(user)s, updated_at = now()
    FROM old_lead o WHERE l.id = o.id
), events AS (
    INSERT INTO leadflow_event
        (subject_type, subject_id, kind, actor_id, rule, reason, old_value, new_value, created_at)
    SELECT 'handoff.handoff', id, 'owner', %(user)s, '', 'claimed from the pool', '',
        %(username)s, now()
    FROM claimed
    UNION ALL
    SELECT 'marketing.lead', id, 'owner', %(user)s, '', 'claimed from the pool', old_owner,
        %(username)s, now()
    FROM old_lead
), clocks AS (
    UPDATE handoff_sladeadline d SET rep_id = %(user)s
    FROM claimed c WHERE d.handoff_id = c.id AND d.state = 'open'
)
SELECT id FROM claimed
"""


def _claimed(handoff_id: int, user: User) -> Handoff:
    handoff = Handoff.objects.get(pk=handoff_id)
    event_record(
        subject_type=HANDOFF,
        subject_id=handoff_id,
        kind=Event.Kind.OWNER,
        actor=user,
        reason="claimed from the pool",
        new_value=user.username,
    )
    marketing.lead_owner_change(
        lead_id=handoff.lead_id, owner=user, actor=user, reason="claimed from the pool"
    )
    sla.sla_hand_over(handoff_id=handoff_id, rep=user)
    return handoff


def claim_next(*, user: User) -> int | None:
    """Claim the hottest, oldest handoff of the user's team pool; its id, or None when the
    pool is empty. One statement, so atomic without a transaction of its own."""
    if user.role != Role.REP or user.team_id is None:
        raise NotAllowedError(_("Only a rep of the team can claim from its pool."))
    default_cap = TeamRouting._meta.get_field("max_open_per_rep").get_default()
    # Prepared: reps claim in bursts, and planning this statement costs more than running it.
    row = prepared_fetchone(
        _CLAIM_NEXT,
        {
            "user": user.pk,
            "team": user.team_id,
            "username": user.username,
            "default_cap": default_cap,
        },
    )
    if row is None:
        _check_can_claim(user)  # full: say so; else the pool was empty
        return None
    return int(row[0])


@transaction.atomic
def claim(*, handoff_id: int, user: User) -> Handoff:
    """Claim one handoff from the pool. The conditional UPDATE is the lock: of two reps
    clicking at once, exactly one changes the row; the other is told."""
    _check_can_claim(user)
    assert user.team_id is not None  # checked above
    taken = Handoff.objects.filter(
        pk=handoff_id, team_id=user.team_id, status=Handoff.Status.PENDING, assigned_to=None
    ).update(assigned_to=user, assigned_at=timezone.now(), routing_reason="claimed from the pool")
    if taken != 1:
        raise ConflictError(_("Someone else took this lead first."))
    return _claimed(handoff_id, user)


@transaction.atomic
def reassign(*, handoff_id: int, rep_id: int | None, manager: User) -> Handoff:
    """A manager moves an open handoff to another rep of the team, or back to the pool."""
    if not (manager.role in (Role.MANAGER, Role.ADMIN) or manager.is_superuser):
        raise NotAllowedError(_("Only a manager can re-assign handoffs."))
    handoff = Handoff.objects.select_for_update().select_related("lead", "team").get(pk=handoff_id)
    if manager.role == Role.MANAGER and handoff.team_id != manager.team_id:
        raise NotAllowedError(_("This handoff belongs to another team."))
    if not handoff.is_open:
        raise ConflictError(_("This handoff is closed; it cannot be re-assigned."))
    if rep_id is None:
        old = handoff.assigned_to.username if handoff.assigned_to else ""
        handoff.assigned_to = None
        handoff.assigned_at = None
        handoff.routing_reason = "returned to the pool by a manager"
        handoff.save(update_fields=["assigned_to", "assigned_at", "routing_reason"])
        event_record(
            subject_type=HANDOFF,
            subject_id=handoff.pk,
            kind=Event.Kind.OWNER,
            actor=manager,
            reason="returned to the pool",
            old_value=old,
        )
        marketing.lead_owner_change(
            lead_id=handoff.lead_id, owner=None, actor=manager, reason="returned to the pool"
        )
        sla.sla_hand_over(handoff_id=handoff.pk, rep=None)
        _reassign_audit(handoff=handoff, manager=manager, old=old, new="")
        return handoff
    rep = User.objects.filter(
        pk=rep_id, team_id=handoff.team_id, role=Role.REP, is_active=True
    ).first()
    if rep is None:
        raise NotAllowedError(_("Choose a rep of this handoff's team."))
    if rep.pk != handoff.assigned_to_id:
        old = handoff.assigned_to.username if handoff.assigned_to else ""
        assign(handoff=handoff, rep=rep, reason="re-assigned by a manager", actor=manager)
        _reassign_audit(handoff=handoff, manager=manager, old=old, new=rep.username)
    return handoff


def _reassign_audit(*, handoff: Handoff, manager: User, old: str, new: str) -> None:
    """A person's lead (and its personal data) moved to another rep: audited."""
    audit_record(
        actor=manager,
        action="handoff.reassign",
        subject_type=HANDOFF,
        subject_id=handoff.pk,
        detail={"lead": handoff.lead_id, "from": old, "to": new},
    )


@transaction.atomic
def rep_set_away(*, rep_id: int, away: bool, actor: User) -> User:
    """A rep marks themself away or back; a manager can do it for a rep of the team."""
    rep = User.objects.select_for_update().get(pk=rep_id)
    own = actor.pk == rep.pk
    managing = (actor.role == Role.MANAGER and actor.team_id == rep.team_id) or actor.is_superuser
    if not (own or managing):
        raise NotAllowedError(_("Only the rep or their manager can change this."))
    if rep.is_away != away:
        rep.is_away = away
        rep.save(update_fields=["is_away"])
        event_record(
            subject_type="leadflow.user",
            subject_id=rep.pk,
            kind=Event.Kind.STATUS,
            actor=actor,
            old_value="away" if not away else "available",
            new_value="away" if away else "available",
        )
    return rep


# --- Team settings (the team's manager, or an admin) ------------------------------------


@transaction.atomic
def team_routing_update(
    *,
    team_id: int,
    actor: User,
    strategy: str,
    max_open_per_rep: int | None,
    reroute_on_breach: bool,
    weights: dict[int, int],
) -> TeamRouting:
    """Distribution, capacity, re-routing on a breach, and the reps' weights."""
    sla.check_manages_team(actor, team_id)
    if strategy not in TeamRouting.Strategy.values:
        raise ApplicationError(_("Choose a distribution."), field="strategy")
    if max_open_per_rep is not None and max_open_per_rep < 1:
        raise ApplicationError(_("The capacity must be at least 1."), field="max_open_per_rep")
    if any(weight < 1 or weight > 100 for weight in weights.values()):
        raise ApplicationError(_("A weight is a whole number from 1 to 100."), field="weights")
    routing = _locked_routing(team_id)
    routing.strategy = strategy
    routing.max_open_per_rep = max_open_per_rep
    routing.reroute_on_breach = reroute_on_breach
    routing.save(update_fields=["strategy", "max_open_per_rep", "reroute_on_breach"])
    reps = User.objects.filter(pk__in=list(weights), team_id=team_id, role=Role.REP)
    for rep in reps:
        RepWeight.objects.update_or_create(user=rep, defaults={"weight": weights[rep.pk]})
    return routing


def rep_weights(*, team_id: int) -> list[tuple[User, int]]:
    reps = list(User.objects.filter(team_id=team_id, role=Role.REP, is_active=True).order_by("id"))
    weights = dict(RepWeight.objects.filter(user__in=reps).values_list("user_id", "weight"))
    return [(rep, weights.get(rep.pk, 1)) for rep in reps]
