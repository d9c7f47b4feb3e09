"""Setting up an incident's Slack side (channel, topic, members, pinned summary, announcement,
runbook) as a durable step, and starting its escalation: see `run` for how, `slack_steps` for
the parts."""

from app.services.setup.run import (
    SETUP,
    SetupResult,
    plan_setup,
    resume_interrupted,
    retry_setup,
    run_setup,
    set_up,
    tell_person,
)

__all__ = [
    "SETUP",
    "SetupResult",
    "plan_setup",
    "resume_interrupted",
    "retry_setup",
    "run_setup",
    "set_up",
    "tell_person",
]
