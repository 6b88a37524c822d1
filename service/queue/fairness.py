"""Which queued job runs next: fair across tenants, ``priority`` only within a tenant.

The rule, evaluated by the claim's one statement over the ready jobs (queued, ``run_after`` past):

1. the tenant with the fewest jobs running now goes first;
2. among tenants running equally many, the one whose latest claim is oldest (a tenant never
   served first; then the one whose oldest ready job is oldest): a round-robin over the tenants
   with ready work;
3. within the chosen tenant, the highest ``priority``, then the oldest job.

So each tenant with work waiting gets an equal share of the workers whatever the length of its
jobs (a tenant with many long jobs can't collect every worker one finished job at a time), and one
worker alternates between tenants: a tenant submitting behind another's backlog of 50 jobs waits
for the job running now, not for the backlog. A tenant's ``priority`` reorders its own jobs and
never another tenant's.

Why this and not weighted fair queuing: WFQ keeps a virtual clock per tenant that every claim
must advance, one hot row all workers write (lock waits where ``SKIP LOCKED`` promises none) and a
cost estimate per job. This rule keeps no state beyond the jobs themselves: ``status`` and
``claimed_at`` (set by every claim), read through the indexes ``(tenant_id, status)`` and
``(tenant_id, claimed_at)``, so it holds across any number of workers and survives restarts.
Tenant weights, when wanted, would divide rule 1's count.

Cost: one pass over the ready jobs to rank the tenants (two index probes per tenant), then a sort
of the ready jobs of the first `FIRST_TENANTS` tenants only. Workers claiming at the same instant
read the same counts, so under contention the order is fair to within the claims in flight; if
every ready job of those first tenants is being claimed by others at that instant, the claim finds
nothing and the worker looks again at its next wake-up or poll.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, bindparam, func, select

from service import tables
from service.queue._sql import jobs

# On SQLite the claim's time is this parameter (on PostgreSQL it is the database's now()).
NOW = "claim_now"
# Tenants, in turn order, whose ready jobs a claim sorts and tries (see the docstring's Cost).
FIRST_TENANTS = 8


def _ready(table: Any, now: ColumnElement[Any]) -> tuple[Any, ...]:
    return (table.c.status == "queued", table.c.run_after <= now)


def _turns(now: ColumnElement[Any]) -> CTE:
    """One row per tenant with ready jobs: ``(tenant_id, running, served, oldest)``; computed
    once per claim (MATERIALIZED), not once per ready job as a planner may do with a subquery."""
    waiting, busy, claims = jobs.alias("waiting"), jobs.alias("busy"), jobs.alias("claims")
    running = (
        select(func.count())
        .select_from(busy)
        .where(busy.c.tenant_id == waiting.c.tenant_id, busy.c.status == "running")
        .scalar_subquery()
    )
    served = (
        select(func.max(claims.c.claimed_at))
        .where(claims.c.tenant_id == waiting.c.tenant_id)
        .scalar_subquery()
    )
    return (
        select(
            waiting.c.tenant_id,
            running.label("running"),
            served.label("served"),
            func.min(waiting.c.id).label("oldest"),  # ids grow with time: who waited longest
        )
        .where(*_ready(waiting, now))
        .group_by(waiting.c.tenant_id)
        .cte("turns")
        .prefix_with("MATERIALIZED")
    )


def _turn_order(turns: Any) -> tuple[Any, ...]:
    """Fewest running, then longest since served (never first), then waiting longest."""
    return (turns.c.running, turns.c.served.asc().nulls_first(), turns.c.oldest)


@functools.cache  # built once: its aliases of `jobs` cost more to build than the query to run
def next_in_turn(*, postgres: bool) -> Select[tuple[str]]:
    """``SELECT id`` of the job whose turn it is (the module's rule), or no row.

    PostgreSQL: it locks that job ``FOR NO KEY UPDATE SKIP LOCKED`` (a job another worker is
    claiming is passed over for the next in turn, never waited on) and reads the database's
    clock. SQLite (under the write lock): the time is the parameter `NOW`."""
    now = func.now() if postgres else bindparam(NOW, type_=tables.UTCDateTime())
    turns = _turns(now)
    first = (
        select(turns)
        .order_by(*_turn_order(turns))
        .limit(FIRST_TENANTS)
        .cte("first")
        .prefix_with("MATERIALIZED")
    )
    candidate = jobs.alias("candidate")
    ready = (
        select(candidate.c.id)
        .select_from(candidate.join(first, first.c.tenant_id == candidate.c.tenant_id))
        .where(*_ready(candidate, now))
        .order_by(*_turn_order(first), candidate.c.priority.desc(), candidate.c.id)
        .limit(1)
    )
    if postgres:
        ready = ready.with_for_update(skip_locked=True, key_share=True, of=candidate)
    return ready
