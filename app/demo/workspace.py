"""The demo's workspace: the people a visitor can be, and the channels they start in.

The seeded ids are the ones the bundled policy pages (app/demo/policy.yml); a policy given
with `--policy` may name others (ids, emails, @usergroups), who are added as extra people (a
group gets one member) so that their pages land somewhere a visitor can see.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.policy import Policy
from app.sandbox.fakeslack import FakeSlack


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # the Slack handle
    title: str  # what they are in the plan


PEOPLE: tuple[Person, ...] = (
    Person("UREPORTER", "riley", "Reporter"),
    Person("UONCALL", "omar", "On-call engineer (L1)"),
    Person("ULEAD", "lena", "Engineering lead (L2)"),
    Person("UCTO", "chen", "CTO (L3)"),
    Person("UCEO", "maya", "CEO (L4)"),
)
GENERAL = "general"
INCIDENTS = "incidents"


@dataclass
class Workspace:
    people: list[Person]
    general: str  # channel ids
    incidents: str


def seed(fake: FakeSlack, policy: Policy) -> Workspace:
    """Add the people and the two channels everyone is in: #general and #incidents (where
    the bot announces incidents)."""
    people = list(PEOPLE)
    for person in people:
        fake.add_user(person.id, name=person.name, email=f"{person.name}@example.com")
    for extra in _named_by(policy):
        if any(extra in (p.id, f"{p.name}@example.com") for p in people):
            continue
        if extra.startswith("@"):  # a user group: one person in it, named after it
            person = Person(f"U{len(people):07d}X", extra[1:].lower(), f"In {extra}")
            fake.add_user(person.id, name=person.name)
            fake.add_usergroup(extra[1:], [person.id])
        elif "@" in extra:
            person = Person(f"U{len(people):07d}X", extra.split("@")[0].lower(), "From the policy")
            fake.add_user(person.id, name=person.name, email=extra)
        else:
            person = Person(extra, extra.lower(), "From the policy")
            fake.add_user(person.id, name=person.name)
        people.append(person)
    members = tuple(p.id for p in people)
    return Workspace(
        people=people,
        general=fake.add_channel(GENERAL, members=members),
        incidents=fake.add_channel(INCIDENTS, members=members),
    )


def _named_by(policy: Policy) -> list[str]:
    """Ids (U…/W…), emails and @usergroup handles the policy pages or invites, once each."""
    named = [target for level in policy.escalation.levels for target in level.notify]
    named += list(policy.responders)
    return list(dict.fromkeys(named))
