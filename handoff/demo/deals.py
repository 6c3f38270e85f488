"""The sales side of the story: a converted handoff's account, contact and deal, and the
deal's road through the pipeline with the rep's touches along it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from handoff.demo.cast import TICK
from handoff.demo.story import _Lead, _Story
from handoff.models import Handoff
from handoff.services import HANDOFF
from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from leadflow.models import Event, User
from marketing.models import Stage
from sales import services as sales
from sales.models import Account, Contact, Deal, PipelineStage, Touch

DEAL_TOUCHES = (
    (Touch.Kind.MEETING, "Discovery call held"),
    (Touch.Kind.MEETING, "Demo for the team"),
    (Touch.Kind.EMAIL, "Sent the proposal"),
    (Touch.Kind.CALL, "Pricing questions answered"),
    (Touch.Kind.NOTE, "Champion is the VP Sales; procurement involved"),
    (Touch.Kind.CALL, "Follow-up on security review"),
)
# Labels of the won and lost reason lists (sales migration 0003 seeds them).
LOST_REASONS = (
    "Chose a competitor",
    "No budget",
    "No decision, went dark",
    "Price too high",
    "Bad timing",
    "Missing a feature or integration",
)
WON_REASONS = ("Best fit for their needs", "Price and terms", "Relationship and trust")
PLANS = ((15000, "Starter"), (40000, "Growth"), (90000, "Business"), (10**9, "Enterprise"))


class _Deals(_Story):
    """Sales: accounts, contacts and deals."""

    def _account(self, lead: _Lead, rep: User, at: datetime) -> Account:
        """As ``sales.account_match_or_create``: by domain (never free-mail), else by name."""
        domain = email_domain(lead.model.email)
        if domain in FREEMAIL_DOMAINS:
            domain = ""
        if domain and domain in self.accounts_by_domain:
            return self.accounts_by_domain[domain]
        account = self.accounts_by_name.get(lead.company.name.lower())
        if account is None:
            account = Account(
                id=self.ids[Account].next(),
                name=lead.company.name,
                domain=domain,
                owner=rep,
                team_id=rep.team_id,
                created_at=at,
            )
            self.accounts.append(account)
            self.accounts_by_name[account.name.lower()] = account
        elif domain and not account.domain:
            account.domain = domain
        if domain:
            self.accounts_by_domain[domain] = account
        return account

    def _convert(self, handoff: Handoff, lead: _Lead, rep: User, at: datetime) -> None:
        """As ``handoff_convert``, then the deal's road through the pipeline."""
        rng, m = self.rng, lead.model
        account = self._account(lead, rep, at)
        contact = Contact(
            id=self.ids[Contact].next(),
            account=account,
            first_name=m.first_name,
            last_name=m.last_name,
            email=m.email or "",
            phone=m.phone,
            job_title=m.job_title,
            lead_id=m.pk,
            created_at=at,
        )
        self.contacts.append(contact)
        size = lead.company.size or 50
        low, high = (5, 30) if size < 200 else (15, 80) if size < 1000 else (30, 150)
        amount = round(math.exp(rng.uniform(math.log(low), math.log(high))) * 2) * 500
        plan = next(name for limit, name in PLANS if amount < limit)
        deal = Deal(
            id=self.ids[Deal].next(),
            name=f"{account.name}: {plan}",
            account=account,
            contact=contact,
            pipeline=self.pipeline,
            stage=self.open_stages[0],
            amount=Decimal(amount),
            expected_close=(at + timedelta(days=rng.randint(25, 90))).date(),
            owner=rep,
            team_id=rep.team_id,
            lead_id=m.pk,
            source=m.source,
            campaign_name=lead.campaign.spec.name,
            created_at=at,
        )
        self.deals.append(deal)
        subject = (sales.DEAL, deal.pk)
        self._event(subject, Event.Kind.CREATED, at, rep, new=deal.stage.name)
        handoff.status, handoff.converted_at, handoff.deal = Handoff.Status.CONVERTED, at, deal
        old, new = Handoff.Status.ACCEPTED, Handoff.Status.CONVERTED
        self._event((HANDOFF, handoff.pk), Event.Kind.STATUS, at + TICK, rep, old=old, new=new)
        self._lead_stage(lead, Stage.OPPORTUNITY, at + TICK * 2, rep, reason=f"deal: {deal.name}")

        # Forward through the open stages, for some to Won or Lost, as far as time allows.
        roll, reach = rng.random(), rng.randrange(1, len(self.open_stages) + 1)
        road = [*self.open_stages[1:], self.won] if roll < 0.3 else self.open_stages[1:reach]
        if 0.3 <= roll < 0.55:
            road.append(self.lost)
        lost_reason, won_reason = rng.choice(LOST_REASONS), rng.choice(WON_REASONS)
        moved = changed = at
        for stage in road:
            moved += timedelta(hours=rng.uniform(24, 240))
            if moved > self.now:
                break
            kind, note = rng.choice(DEAL_TOUCHES)
            before = moved - timedelta(hours=rng.uniform(1, 24))
            self.touches.append(
                Touch(kind=kind, outcome=note, actor=rep, deal=deal, created_at=before)
            )
            reason = {self.lost: lost_reason, self.won: won_reason}.get(stage, "")
            self._event(
                subject,
                Event.Kind.STAGE,
                moved,
                rep,
                reason=reason,
                old=deal.stage.name,
                new=stage.name,
            )
            deal.stage, changed = stage, moved
        if deal.stage.outcome != PipelineStage.Outcome.OPEN:
            deal.closed_at = moved
        if deal.stage in (self.lost, self.won):
            deal.close_reason = lost_reason if deal.stage == self.lost else won_reason
        deal.stage_changed_at = deal.last_activity_at = changed
        if deal.stage == self.won:
            self._lead_stage(lead, Stage.CUSTOMER, moved + TICK, rep, reason=f"deal #{deal.pk} won")
        today = self.now.date()
        if deal.closed_at is None and deal.expected_close and deal.expected_close < today:
            deal.expected_close = today + timedelta(days=rng.randint(7, 40))  # pushed out
