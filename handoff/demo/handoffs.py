"""The handoff side of the story: qualification, routing (round-robin, the team pool,
re-routing after an SLA expiry), and the rep's answer: accept and touch, reject, or
convert."""

from __future__ import annotations

from datetime import datetime, timedelta

from handoff.demo.cast import TICK, TOUCH_WITHIN
from handoff.demo.deals import _Deals
from handoff.demo.leads import _Leads
from handoff.demo.story import _Lead
from handoff.models import Handoff, QualificationRule, RejectReason, SlaTier
from handoff.services import ACCEPT_WITHIN, HANDOFF
from leadflow.models import Event, Team, User
from marketing import services as marketing
from marketing.models import Lead, Stage
from sales.models import Touch

NO_HANDOFF_SHARE = 0.08  # MQLs still with marketing
POOL_SHARE = 0.06  # handoffs that found no rep and waited in the team pool
# In the last two days (a sales offsite) far more did, so the demo opens with work waiting
# in the pools.
POOL_SHARE_LATELY = 0.3
R = RejectReason
REJECT_AT_ONCE = (
    (R.NOT_A_FIT, 30),
    (R.BAD_CONTACT, 15),
    (R.DUPLICATE, 8),
    (R.CUSTOMER, 6),
    (R.COMPETITOR, 5),
    (R.SPAM, 6),
    (R.NO_BUDGET, 10),
    (R.BAD_TIMING, 10),
)
REJECT_AFTER_TALKING = (
    (R.NO_BUDGET, 35),
    (R.BAD_TIMING, 35),
    (R.NOT_A_FIT, 20),
    (R.CUSTOMER, 5),
    (R.DUPLICATE, 5),
)
REJECT_NOTES: dict[str, tuple[str, ...]] = {
    R.NOT_A_FIT: (
        "Two-person agency, far below our minimum.",
        "Student project.",
        "Needs a ticketing tool, not a CRM.",
    ),
    R.BAD_CONTACT: ("Number disconnected and the email bounced.", "Fake name on the form."),
    R.DUPLICATE: ("Same person as an open deal under another address.",),
    R.CUSTOMER: ("Already on the Business plan; passed to account management.",),
    R.COMPETITOR: ("Works for a competitor; researching us.",),
    R.SPAM: ("Keyboard mash in every field.",),
    R.NO_BUDGET: ("Budget frozen until next fiscal year.", "Interested, but no budget owner."),
    R.BAD_TIMING: ("Mid-migration to a new CRM; call back in Q3.", "Re-org under way."),
}
FIRST_TOUCH_OUTCOMES = {
    Touch.Kind.CALL: (
        "Connected, booked a discovery call",
        "Left a voicemail",
        "No answer",
        "Connected, asked for an email",
    ),
    Touch.Kind.EMAIL: ("Sent intro email", "Sent the case study", "Replied to the demo request"),
}


def _rule_matches(rule: QualificationRule, lead: Lead) -> bool:
    """The demo's qualification rules (fast track, grade, engagement) judged in memory."""
    if rule.fast_track_only and not lead.fast_tracked:
        return False
    if rule.max_grade and not marketing.grade_at_least(lead.grade, rule.max_grade):
        return False
    return lead.engagement_score >= rule.min_engagement


class _Handoffs(_Leads, _Deals):
    """Handoff: sales working the MQLs in the order they arrived."""

    def _sales(self, lead: _Lead) -> None:
        """What became of an MQL: qualification, routing, the rep's answer, the deal."""
        m = lead.model
        assert m.mql_at is not None
        rule = next((r for r in self.qualification if _rule_matches(r, m)), None)
        rejected = None
        if rule is not None and self.rng.random() >= NO_HANDOFF_SHARE:
            rejected = self._hand_off(lead, rule, m.mql_at + TICK)
        # A rejected lead went back to marketing, recycled; what it did next belongs to a
        # later story (it could qualify again), so the story stops there.
        self._score_until(lead, rejected or self.now)
        del lead.touches[lead.scored :]
        if rejected is not None:
            self._engagement_reset(lead, rejected, f"engagement reset: {lead.recycled_because}")

    def _available(self, team: Team, at: datetime) -> list[User]:
        return [rep for rep in self.reps[team.pk] if not (rep.is_away and at >= self.away_since)]

    def _next_rep(self, team: Team, after: User | None, at: datetime) -> User | None:
        """As ``handoff_route``: the next available rep by id after ``after``, wrapping."""
        reps = self._available(team, at)
        later = [rep for rep in reps if after is None or rep.pk > after.pk]
        return (later or reps)[0] if reps else None

    def _hand_off(self, lead: _Lead, rule: QualificationRule, at: datetime) -> datetime | None:
        """The handoffs of one MQL (a new one after each expiry); returns when the lead was
        rejected, if it was."""
        rng, m, team, tier = self.rng, lead.model, rule.team, SlaTier(rule.sla_tier)
        rep: User | None = None
        for attempt in range(3):
            self._score_until(lead, at)
            handoff = Handoff(
                id=self.ids[Handoff].next(),
                lead_id=m.pk,
                rule=rule,
                rule_name=rule.name,
                score_snapshot=self._snapshot(lead, at),
                sla_tier=tier,
                team=team,
                handed_off_at=at,
                accept_due_at=at + ACCEPT_WITHIN[tier],
                touch_due_at=at + TOUCH_WITHIN[tier],
            )
            self.handoffs.append(handoff)
            why = f"qualification: {rule.name}"
            subject = (HANDOFF, handoff.pk)
            self._event(subject, Event.Kind.CREATED, at, rule=why, new=Handoff.Status.PENDING)
            recent = self.now - at < timedelta(hours=48)
            if attempt == 0:
                m.sql_at = at
                reason = f"{tier.label} handoff to {team.name}"
                self._lead_stage(lead, Stage.SQL, at + TICK, rule=why, reason=reason)
                pooled = rng.random() < (POOL_SHARE_LATELY if recent else POOL_SHARE)
                rep = None if pooled else self._next_rep(team, self.last_rep.get(team.pk), at)
                if rep is not None:
                    self.last_rep[team.pk] = rep
                    self._assign(handoff, lead, rep, at + TICK * 2, "round-robin")
            else:
                rep = self._next_rep(team, rep, at)
                if rep is not None:
                    self._assign(handoff, lead, rep, at + TICK * 2, "re-routed after SLA expiry")
            if rep is None:
                handoff.routing_reason = "team pool: no rep available"
                hot = tier == SlaTier.HOT
                claimed = at + (self._minutes(6, 0.8) if hot else self._minutes(45, 0.9))
                reps = self._available(team, claimed)
                if claimed > self.now or not reps or recent:
                    return None  # still waiting in the pool
                rep = rng.choice(reps)
                self._assign(handoff, lead, rep, claimed, "claimed from the pool", actor=rep)
            expired = self._work(handoff, lead, rep, may_expire=attempt < 2)
            if expired is None:
                return handoff.rejected_at
            at = expired
        return None

    def _assign(
        self,
        handoff: Handoff,
        lead: _Lead,
        rep: User,
        at: datetime,
        reason: str,
        actor: User | None = None,
    ) -> None:
        """As ``_assign`` and ``handoff_claim``: the handoff's owner, then the lead's."""
        handoff.assigned_to, handoff.assigned_at, handoff.routing_reason = rep, at, reason
        m = lead.model
        rule = "" if actor else f"routing: {reason}"
        self._event(
            (HANDOFF, handoff.pk),
            Event.Kind.OWNER,
            at,
            actor,
            rule=rule,
            reason=reason if actor else "",
            new=rep.username,
        )
        old = m.owner.username if m.owner else ""
        rule = "" if actor else "routing"
        self._event(
            (marketing.LEAD, m.pk),
            Event.Kind.OWNER,
            at + TICK,
            actor,
            rule=rule,
            reason=reason,
            old=old,
            new=rep.username,
        )
        m.owner = rep
        m.updated_at = max(m.updated_at, at + TICK)

    def _work(
        self, handoff: Handoff, lead: _Lead, rep: User, *, may_expire: bool
    ) -> datetime | None:
        """The rep's side of one handoff. Each step happens only if its moment has come;
        returns the moment of expiry if the accept deadline passed (the caller re-routes)."""
        rng, now, subject = self.rng, self.now, (HANDOFF, handoff.pk)
        hot = handoff.sla_tier == SlaTier.HOT
        start = handoff.assigned_at or handoff.handed_off_at
        roll = rng.random()
        if now - handoff.handed_off_at < timedelta(hours=48) and rng.random() < 0.5:
            return None  # not looked at yet
        # The sweeper expires what nobody accepted in time (a late claim is only a breach).
        assert handoff.accept_due_at is not None
        if roll < 0.10 and may_expire and start < handoff.accept_due_at:
            expired = handoff.accept_due_at + timedelta(minutes=rng.uniform(1, 5))
            if expired > now:
                return None
            handoff.status = Handoff.Status.EXPIRED
            due = ACCEPT_WITHIN[SlaTier(handoff.sla_tier)].total_seconds() // 60
            self._event(
                subject,
                Event.Kind.STATUS,
                expired,
                rule="sla: accept deadline",
                reason=f"not accepted within {due:.0f} min",
                old=Handoff.Status.PENDING,
                new=Handoff.Status.EXPIRED,
            )
            return expired
        answered = start + (self._minutes(8, 0.8) if hot else self._minutes(90, 0.9))
        if answered > now:
            return None
        if roll < 0.24:  # turned down without a conversation
            self._reject(handoff, lead, rep, answered, self._pick(REJECT_AT_ONCE))
            return None
        handoff.status, handoff.accepted_at = Handoff.Status.ACCEPTED, answered
        old, new = Handoff.Status.PENDING, Handoff.Status.ACCEPTED
        self._event(subject, Event.Kind.STATUS, answered, rep, old=old, new=new)
        touched = answered + (self._minutes(20, 0.8) if hot else self._minutes(240, 0.9))
        if touched > now or (0.36 <= roll < 0.50 and rng.random() < 0.2):
            return None  # accepted, no call yet
        handoff.first_touch_at = touched
        kind = rng.choice((Touch.Kind.CALL, Touch.Kind.CALL, Touch.Kind.EMAIL))
        outcome = rng.choice(FIRST_TOUCH_OUTCOMES[kind])
        self.touches.append(
            Touch(kind=kind, outcome=outcome, actor=rep, lead_id=lead.model.pk, created_at=touched)
        )
        if roll < 0.36:  # accepted, talked, then turned down
            rejected = touched + timedelta(hours=rng.uniform(2, 190))
            if rejected <= now:
                self._reject(handoff, lead, rep, rejected, self._pick(REJECT_AFTER_TALKING))
        elif roll >= 0.50:
            converted = touched + timedelta(hours=rng.uniform(3, 290))
            if converted <= now:
                self._convert(handoff, lead, rep, converted)
        return None

    def _reject(self, handoff: Handoff, lead: _Lead, rep: User, at: datetime, reason: str) -> None:
        label = str(RejectReason(reason).label)
        handoff.status, handoff.rejected_at = Handoff.Status.REJECTED, at
        handoff.reject_reason = reason
        if self.rng.random() < 0.7:
            handoff.reject_note = self.rng.choice(REJECT_NOTES[reason])
        new = Handoff.Status.REJECTED
        self._event(
            (HANDOFF, handoff.pk), Event.Kind.STATUS, at, rep, reason=label, old="open", new=new
        )
        lead.recycled_because = f"rejected: {label}"
        self._lead_stage(lead, Stage.RECYCLED, at + TICK, rep, reason=lead.recycled_because)
