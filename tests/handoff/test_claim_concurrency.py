"""Claiming from the pool under contention: 16 threads, 5,000 handoffs, no double claims;
and the same harness shows that a naive read-then-write claim does hand out doubles."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from django.db import close_old_connections, connection
from django.test import TransactionTestCase

from handoff import services
from handoff.models import Handoff, TeamRouting
from leadflow.models import Role, Team, User
from marketing.models import Lead, Stage

THREADS = 16


def make_pool(team: Team, n: int) -> None:
    leads = Lead.objects.bulk_create(
        Lead(email=f"pool{i}@example.com", stage=Stage.SQL) for i in range(n)
    )
    Handoff.objects.bulk_create(
        Handoff(lead=lead, team=team, sla_tier="hot" if i % 5 == 0 else "standard")
        for i, lead in enumerate(leads)
    )


def run_claimers(reps: list[User], claim: Callable[[User], int | None]) -> list[tuple[int, int]]:
    """Every rep claims in its own thread (own connection) until the pool is empty."""
    taken: list[list[int]] = [[] for _ in reps]
    start = threading.Barrier(len(reps))

    def work(i: int) -> None:
        try:
            start.wait()
            while (handoff_id := claim(reps[i])) is not None:
                taken[i].append(handoff_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(reps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return [
        (rep.pk, handoff_id) for rep, ids in zip(reps, taken, strict=True) for handoff_id in ids
    ]


def safe_claim(rep: User) -> int | None:
    return services.handoff_claim_next(user=rep)


def naive_claim(rep: User) -> int | None:
    """Deliberately wrong: read the next free row, then write it, with no lock and no
    condition on the write. Another claimer can read the same row in between."""
    assert rep.team_id is not None
    handoff = (
        Handoff.objects.filter(team_id=rep.team_id, status="pending", assigned_to=None)
        .order_by("sla_tier", "handed_off_at", "id")
        .first()
    )
    if handoff is None:
        return None
    time.sleep(0.001)  # the work a real claim does between its read and its write
    Handoff.objects.filter(pk=handoff.pk).update(assigned_to=rep)
    return handoff.pk


class ClaimConcurrencyTests(TransactionTestCase):
    # Restore what the migrations wrote (SLA tiers, the default pipeline, content types)
    # after the flush, so the tests that run next in this process find it.
    serialized_rollback = True

    def setUp(self) -> None:
        self.team = Team.objects.create(name="Pool", timezone="UTC")
        # No capacity limit: the threads must be able to drain the whole pool.
        TeamRouting.objects.create(team=self.team, max_open_per_rep=None)
        self.reps = [
            User.objects.create(username=f"claimer{i}", role=Role.REP, team=self.team)
            for i in range(THREADS)
        ]

    def test_sixteen_threads_claim_five_thousand_handoffs_without_a_double_claim(self) -> None:
        make_pool(self.team, 5000)
        taken = run_claimers(self.reps, safe_claim)
        doubles = sum(n - 1 for n in Counter(pk for _rep, pk in taken).values() if n > 1)
        assert doubles == 0
        assert len(taken) == 5000
        assert not Handoff.objects.filter(assigned_to=None).exists()
        # Each handoff belongs to the rep who was told they got it.
        owners = dict(Handoff.objects.values_list("pk", "assigned_to_id"))
        assert all(owners[pk] == rep_id for rep_id, pk in taken)

    def test_the_same_harness_catches_a_naive_claim_handing_out_doubles(self) -> None:
        make_pool(self.team, 300)
        taken = run_claimers(self.reps, naive_claim)
        doubles = sum(n - 1 for n in Counter(pk for _rep, pk in taken).values() if n > 1)
        assert doubles > 0
