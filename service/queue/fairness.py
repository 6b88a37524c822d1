"""Which queued job runs next: fair across tenants, ``priority`` only within a tenant.

The rule, evaluated by the claim's one statement over the ready jobs (queued, ``run_after`` past):

1. the tenant with the fewest jobs running now goes first;
2. among tenants running equally many, the one whose latest claim is oldest (a tenant never
   served goes first): a round-robin over the tenants with ready work;
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
Workers claiming at the same instant read the same counts, so under contention the order is fair
to within the claims in flight. Tenant weights, when wanted, would divide rule 1's count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Subquery, func, select

from service.queue._sql import Clock, jobs


def _ready(table: Any, c: Clock) -> tuple[Any, ...]:
    return (table.c.status == "queued", table.c.run_after <= c.now())


def _turns(c: Clock) -> Subquery:
    """One row per tenant with ready jobs: ``(tenant_id, running, served)``."""
    waiting, running_jobs, claims = jobs.alias("waiting"), jobs.alias("busy"), jobs.alias("claims")
    running = (
        select(func.count())
        .select_from(running_jobs)
        .where(running_jobs.c.tenant_id == waiting.c.tenant_id, running_jobs.c.status == "running")
        .scalar_subquery()
    )
    served = (
        select(func.max(claims.c.claimed_at))
        .where(claims.c.tenant_id == waiting.c.tenant_id)
        .scalar_subquery()
    )
    return (
        select(waiting.c.tenant_id, running.label("running"), served.label("served"))
        .where(*_ready(waiting, c))
        .group_by(waiting.c.tenant_id)
        .subquery("turns")
    )


def next_in_turn(c: Clock, *, skip_locked: bool) -> Select[tuple[str]]:
    """``SELECT id`` of the job whose turn it is (the module's rule), or no row. With
    ``skip_locked`` (PostgreSQL) it locks that job ``FOR NO KEY UPDATE SKIP LOCKED``: a job
    another worker is claiming is passed over for the next in turn, never waited on."""
    candidate = jobs.alias("candidate")
    turns = _turns(c)
    ready = (
        select(candidate.c.id)
        .select_from(candidate.join(turns, turns.c.tenant_id == candidate.c.tenant_id))
        .where(*_ready(candidate, c))
        .order_by(
            turns.c.running,
            turns.c.served.asc().nulls_first(),
            candidate.c.priority.desc(),
            candidate.c.id,
        )
        .limit(1)
    )
    if skip_locked:
        ready = ready.with_for_update(skip_locked=True, key_share=True, of=candidate)
    return ready
