"""The scheduled-step engine: durable, claimed atomically, sent once.

Anything that must happen at a time (a page, a reminder) is a `scheduled_steps` row. A tick
claims the due rows (`claim`, see `store.steps.claim_due`) and commits the claim before
calling Slack; each kind's handler, registered by `app.wiring` with `register_kind`, then sends
its messages through `StepRun.post` (`run`), which saves every message's ts the moment Slack
answers, so a retry skips what already went out. A Slack failure leaves the step pending with
a backoff. A worker renews its claims while it runs them (`claim.Holding`); a step held by a
worker known dead (missed heartbeats, `app.store.workers`) is claimed again at once, and the
lease is the last resort. A step sent more than a minute after its due time is flagged late
(`tick`). Planning or moving a step tells the scheduler when it falls due, after the commit
(`app.store.wakeups`), so pages go out on time rather than at the next poll.

New kinds (review reminders, action-item nudges...) need only `schedule(...)` and a handler.
"""

from app.services.engine.claim import dead_after, new_worker_id, next_due
from app.services.engine.kinds import Handler, register_kind, registered_kinds, schedule
from app.services.engine.run import StepRun
from app.services.engine.tick import TickReport, run_due_steps, run_now, run_pending

__all__ = [
    "Handler",
    "StepRun",
    "TickReport",
    "dead_after",
    "new_worker_id",
    "next_due",
    "register_kind",
    "registered_kinds",
    "run_due_steps",
    "run_now",
    "run_pending",
    "schedule",
]
