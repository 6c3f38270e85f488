"""The marketing side of the story: companies and people, each lead's touchpoints, and
their scoring as ``marketing.services.lead_score`` does it, up to the lead's MQL moment."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.conf import settings

from handoff.demo.cast import DAYS, SITE, TICK
from handoff.demo.people import (
    COMPANY_SIZES,
    CORES,
    COUNTRIES,
    FREEMAIL_BY_COUNTRY,
    FREEMAIL_ELSEWHERE,
    JOB_TITLES,
    NAMES,
    SITE_PAGES,
    STEMS,
    _ascii,
    _words,
)
from handoff.demo.story import _Campaign, _Company, _Lead, _Story
from leadflow.freemail import FREEMAIL_DOMAINS, email_domain
from leadflow.models import Event
from marketing import scoring
from marketing import services as marketing
from marketing.models import Channel, Lead, ScoreEntry, ScoringRule, Stage, Touchpoint

K = Touchpoint.Kind
# Later touchpoints by kind: (weight for the least interested lead, extra for the keenest).
LATER_TOUCHES = (
    (K.PAGE_VIEW, 34, -18),
    (K.PRICING_VIEW, 8, 26),
    (K.EMAIL_CLICK, 24, 0),
    (K.WEBINAR, 6, 14),
    (K.FORM_SUBMIT, 10, 10),
    (K.DEMO_REQUEST, 1, 2),
)
DISQUALIFY_SHARE = 0.02
DISQUALIFY_REASONS = ("spam", "competitor", "not a person")


def _fit_matches(rule: ScoringRule, lead: Lead) -> bool:
    """The demo's rules (migration 0002) judged in memory, as their compiled SQL judges
    them, for leads not written yet."""
    value = getattr(lead, rule.field, None) if rule.field else None
    if rule.operator == ScoringRule.Operator.FREEMAIL:
        return email_domain(lead.email) in FREEMAIL_DOMAINS
    if value in (None, ""):
        return False
    if rule.operator == ScoringRule.Operator.GTE:
        return float(value) >= float(rule.value)
    if rule.operator == ScoringRule.Operator.IN:
        return str(value).strip().lower() in {v.strip().lower() for v in rule.value.split(",")}
    return re.search(rule.value, str(value), re.IGNORECASE) is not None


class _Leads(_Story):
    """Marketing, lead by lead."""

    def _make_companies(self, count: int) -> list[_Company]:
        names = [(stem, core) for stem in _words(STEMS) for core in _words(CORES)]
        companies = []
        for stem, core in self.rng.sample(names, max(20, min(len(names), count))):
            country = self._pick([(code, spec[0]) for code, spec in COUNTRIES.items()])
            _, _, suffix, legal = COUNTRIES[country]
            low, high = self._pick([((lo, hi), w) for lo, hi, w in COMPANY_SIZES])
            companies.append(
                _Company(
                    name=f"{stem} {core} {self.rng.choice(legal)}".strip(),
                    domain=f"{stem}{core}".lower() + suffix,
                    country=country,
                    size=None if self.rng.random() < 0.07 else self.rng.randint(low, high),
                )
            )
        return companies

    def _creation_times(self, count: int) -> list[datetime]:
        """Spread over the last DAYS days, a little busier lately and quieter at weekends."""
        times: list[datetime] = []
        while len(times) < count:
            at = self.now - timedelta(days=DAYS * self.rng.random() ** 1.25, minutes=3)
            if at.weekday() < 5 or self.rng.random() < 0.4:
                times.append(at)
        return sorted(times)  # ids follow time, as they would have

    def _email(self, first: str, last: str, domain: str, freemail: bool) -> str:
        first, last = _ascii(first), _ascii(last)
        number = self.rng.randint(1, 99)
        patterns = (
            (f"{first}.{last}", f"{first}{last}{number}", f"{first[0]}{last}{number}")
            if freemail
            else (f"{first}.{last}", f"{first[0]}{last}", first)
        )
        local = self.rng.choice(patterns)
        email, n = f"{local}@{domain}", 1
        while email in self.emails:  # the unique constraint is on the normalised email
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _phone(self, country: str) -> str:
        if country not in self.phone_examples:
            example = phonenumbers.example_number_for_type(
                country, phonenumbers.PhoneNumberType.MOBILE
            ) or phonenumbers.example_number(country)
            assert example is not None
            assert example.country_code
            self.phone_examples[country] = (example.country_code, str(example.national_number))
        code, national = self.phone_examples[country]
        digits = national[:-5] + f"{self.rng.randrange(10**5):05d}"
        return marketing.normalize_phone(f"+{code}{digits}")

    def _running(
        self, at: datetime, *, channel: str = "", fast_track: bool | None = None
    ) -> list[_Campaign]:
        return [
            c
            for c in self.campaigns
            if c.running(at)
            and (not channel or c.spec.channel == channel)
            and (fast_track is None or c.spec.fast_track == fast_track)
        ]

    def _touchpoint(
        self,
        lead: Lead,
        kind: str,
        at: datetime,
        campaign: _Campaign,
        *,
        form: bool = False,
        page: str | None = None,
    ) -> Touchpoint:
        """``page``: the landing page; None for the campaign's, "" for none (imports)."""
        spec = campaign.spec
        variant = self.rng.choice(spec.variants) if spec.variants else ""
        search = spec.channel == Channel.PAID_SEARCH
        page = spec.page if page is None else page
        return Touchpoint(
            id=self.ids[Touchpoint].next(),
            lead_id=lead.pk,
            kind=kind,
            campaign_id=campaign.id,
            form_id=campaign.form_id if form else None,
            utm_source=spec.utm[0],
            utm_medium=spec.utm[1],
            utm_campaign=spec.utm[2],
            utm_term=variant if search else "",
            utm_content="" if search else variant,
            referrer=spec.referrer if page else "",
            landing_page=SITE + page if page else "",
            created_at=at,
        )

    def _touches(self, lead: Lead, first: _Campaign) -> list[Touchpoint]:
        """The lead's touchpoints, oldest first: the capture, then whatever followed."""
        rng, created = self.rng, lead.created_at + TICK * 5  # same transaction as the lead
        if first.spec.channel == Channel.EVENT and rng.random() < 0.8:
            touches = [self._touchpoint(lead, K.IMPORT, created, first, page="")]
        else:
            kind = K.DEMO_REQUEST if first.spec.fast_track else K.FORM_SUBMIT
            touches = [self._touchpoint(lead, kind, created, first, form=True)]
        # Interest decides how often a person comes back and what they look at.
        interest = rng.random()
        weights = [(kind, low + extra * interest) for kind, low, extra in LATER_TOUCHES]
        at = created
        for n in range(1, min(6, 1 + int(rng.random() * (2.5 + 6 * interest)))):
            if rng.random() < 0.35:
                at += timedelta(minutes=rng.uniform(1, 25))  # the same visit
            else:
                at += timedelta(days=rng.expovariate(1 / 5))
            if at > self.now - timedelta(minutes=1):
                break
            kind = self._pick(weights)
            if n == 1 and first.spec.channel == Channel.WEBINAR and rng.random() < 0.7:
                kind = K.WEBINAR  # registered, then attended
            touches.append(self._later_touch(lead, kind, at, first))
        return touches

    def _later_touch(self, lead: Lead, kind: str, at: datetime, first: _Campaign) -> Touchpoint:
        rng = self.rng
        if kind in (K.FORM_SUBMIT, K.DEMO_REQUEST):
            forms = self._running(at, fast_track=kind == K.DEMO_REQUEST)
            if forms:
                return self._touchpoint(lead, kind, at, rng.choice(forms), form=True)
            kind = K.PAGE_VIEW
        if kind == K.WEBINAR:
            webinars = self._running(at, channel=Channel.WEBINAR)
            if webinars:
                return self._touchpoint(lead, kind, at, webinars[0])
            kind = K.EMAIL_CLICK
        if kind == K.EMAIL_CLICK:
            mailings = self._running(at, channel=Channel.EMAIL)
            mailings += self._running(at, channel=Channel.WEBINAR)
            page = rng.choice(SITE_PAGES[5:])
            return self._touchpoint(lead, kind, at, rng.choice(mailings or [first]), page=page)
        campaign = first if first.running(at) and rng.random() < 0.5 else self.organic
        page = "/pricing" if kind == K.PRICING_VIEW else rng.choice(SITE_PAGES)
        return self._touchpoint(lead, kind, at, campaign, page=page)

    def _lead(self, created: datetime) -> _Lead:
        rng = self.rng
        company = rng.choice(self.companies)
        country = company.country
        if rng.random() < 0.1:  # works abroad
            country = self._pick([(code, spec[0]) for code, spec in COUNTRIES.items()])
        firsts, lasts = NAMES[COUNTRIES[country][1]]
        first, last = rng.choice(_words(firsts)), rng.choice(_words(lasts))
        freemail = rng.random() < 0.2
        domain = company.domain
        if freemail:
            domain = rng.choice(FREEMAIL_BY_COUNTRY.get(country, FREEMAIL_ELSEWHERE))
        running = self._running(created) or self.campaigns
        campaign = self._pick([(c, c.spec.weight) for c in running])
        m = Lead(
            id=self.ids[Lead].next(),
            email=self._email(first, last, domain, freemail),
            phone=self._phone(country) if rng.random() < 0.45 else "",
            first_name=first,
            last_name=last,
            company=company.name,
            job_title=self._pick(JOB_TITLES),
            company_size=company.size,
            country=country,
            campaign_id=campaign.id,
            source=campaign.spec.utm[0] or campaign.spec.channel,  # as capture does
            created_at=created,
            updated_at=created,
        )
        lead = _Lead(m, company, campaign)
        lead.touches = self._touches(m, campaign)
        self.leads.append(lead)
        if lead.touches[0].kind == K.IMPORT:
            owner = self.users[campaign.spec.owner]
            rule = f"import: {campaign.spec.name} scans"
            self._event(
                (marketing.LEAD, m.pk),
                Event.Kind.CREATED,
                created,
                owner,
                rule=rule,
                new=Stage.LEAD,
            )
        else:
            rule = f"form: {campaign.form_name}"
            self._event(
                (marketing.LEAD, m.pk), Event.Kind.CREATED, created, rule=rule, new=Stage.LEAD
            )

        disqualified = None
        if rng.random() < DISQUALIFY_SHARE:
            disqualified = created + timedelta(hours=rng.uniform(1, 150))
        until = min(disqualified or self.now, self.now)
        while lead.scored < len(lead.touches) and lead.touches[lead.scored].created_at < until:
            if self._score_next(lead):
                return lead  # an MQL: sales takes it from here (see _sales)
        if disqualified and disqualified <= self.now:
            marketer = self.users[rng.choice(("marketer1", "marketer2"))]
            reason = rng.choice(DISQUALIFY_REASONS)
            self._lead_stage(lead, Stage.DISQUALIFIED, disqualified, marketer, reason=reason)
            del lead.touches[lead.scored :]  # nothing of what it did next is kept
        return lead

    def _score_next(self, lead: _Lead, *, qualify: bool = True) -> bool:
        """Score the lead's next touchpoint as ``marketing.services.lead_score`` does; True
        when the lead just became an MQL. ``qualify=False`` once sales has the lead, whose
        stage the simulation has then already moved on."""
        m, touch = lead.model, lead.touches[lead.scored]
        lead.scored += 1
        at = touch.created_at + timedelta(seconds=self.rng.uniform(1, 30))  # the worker
        old = (m.fit_score, m.engagement_score, m.grade)
        if touch.kind == K.DEMO_REQUEST:
            m.fast_tracked = True  # capture sets it, before scoring
        if lead.scored == 1:  # fit depends on the fields only: all of it at the first run
            for rule in self.fit_rules:
                if _fit_matches(rule, m):
                    lead.entries.append(self._entry(m, rule, None, at))
                    m.fit_score += rule.points
        activity = self.engagement_rules.get(touch.kind)
        if activity is not None:
            lead.entries.append(self._entry(m, activity, touch, at))
            m.engagement_score += activity.points
        m.grade = scoring.grade_for(m.fit_score)
        new = (m.fit_score, m.engagement_score, m.grade)
        if new != old:
            self._event(
                (marketing.LEAD, m.pk),
                Event.Kind.SCORE,
                at,
                rule="scoring",
                old=f"{old[2]} {old[0]}/{old[1]}",
                new=f"{new[2]} {new[0]}/{new[1]}",
            )
        m.scored_at = m.updated_at = at
        minimum = settings.LEADFLOW_MQL_MIN_ENGAGEMENT
        qualifies = m.fast_tracked or (
            marketing.grade_at_least(m.grade, settings.LEADFLOW_MQL_MIN_GRADE)
            and m.engagement_score >= minimum
        )
        if not (qualify and qualifies and m.stage in marketing.QUALIFIABLE):
            return False
        reason = (
            "fast track"
            if m.fast_tracked
            else f"grade {m.grade}, engagement {m.engagement_score} ≥ {minimum}"
        )
        m.mql_at = at + TICK
        self._lead_stage(lead, Stage.MQL, m.mql_at, rule="scoring: MQL thresholds", reason=reason)
        return True

    def _engagement_reset(self, lead: _Lead, at: datetime, reason: str) -> None:
        """As ``marketing.services.lead_recycle``: the engagement so far, and a fast-track
        request among it, stop counting; the ledger gets the corrections the engine would
        write (one per activity) and the score event names the reason."""
        m = lead.model
        # After the lead's last scoring: the worker may have scored a touch just before.
        at = max([at, *(entry.created_at for entry in lead.entries)]) + TICK
        lead.entries += [
            ScoreEntry(
                lead_id=m.pk,
                rule=entry.rule,
                touchpoint_id=entry.touchpoint_id,
                occurred_at=entry.occurred_at,
                axis=entry.axis,
                points=-entry.points,
                created_at=at,
            )
            for entry in lead.entries
            if entry.axis == ScoringRule.Axis.ENGAGEMENT
        ]
        if m.engagement_score:
            self._event(
                (marketing.LEAD, m.pk),
                Event.Kind.SCORE,
                at,
                rule=reason,
                old=f"{m.grade} {m.fit_score}/{m.engagement_score}",
                new=f"{m.grade} {m.fit_score}/0",
            )
        m.engagement_score, m.fast_tracked, m.engagement_reset_at = 0, False, at
        m.updated_at = max(m.updated_at, at)

    def _entry(
        self, lead: Lead, rule: ScoringRule, touch: Touchpoint | None, at: datetime
    ) -> ScoreEntry:
        return ScoreEntry(
            lead_id=lead.pk,
            rule=rule,
            touchpoint_id=touch.pk if touch else None,
            occurred_at=touch.created_at if touch else None,
            axis=rule.axis,
            points=rule.points,
            created_at=at,
        )

    def _score_until(self, lead: _Lead, until: datetime) -> None:
        while lead.scored < len(lead.touches) and lead.touches[lead.scored].created_at < until:
            self._score_next(lead, qualify=False)

    def _snapshot(self, lead: _Lead, at: datetime) -> dict[str, Any]:
        """The score breakdown at ``at``, shaped like ``marketing.lead_score_breakdown``."""
        per_rule: dict[ScoringRule, int] = {}
        for entry in lead.entries:
            if entry.created_at <= at:
                per_rule[entry.rule] = per_rule.get(entry.rule, 0) + entry.points
        rows = sorted(
            (rule.axis, -points, rule.name) for rule, points in per_rule.items() if points
        )
        fit = -sum(points for axis, points, _ in rows if axis == ScoringRule.Axis.FIT)
        return {
            "fit": fit,
            "engagement": -sum(points for axis, points, _ in rows if axis != "fit"),
            "grade": scoring.grade_for(fit),
            "rules": [
                {"rule": name, "axis": axis, "points": -points} for axis, points, name in rows
            ],
        }
