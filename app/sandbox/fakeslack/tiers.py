"""Slack's rate tiers, enforced by the fake: past a method's tier, 429 with Retry-After.

The tier of each method comes from the reference (``rate_limits`` in methods/<m>.json): Tier 1
allows 1 call a minute, Tier 2 20, Tier 3 50, Tier 4 100, per method per token, counted over any
sliding window; "t5" (special) is chat.postMessage's about one a second per channel with a
small burst, and generous for auth.test and chat.getPermalink. ``scale`` multiplies the windows
(the suite shrinks them so ordinary tests never meet them; a storm test asks for
real-proportioned ones) and None turns enforcement off. Retry-After is whole seconds, as Slack
sends it. Every call that arrives while a Retry-After the fake gave (its own or an injected
``rate_limit_next``) is still running is recorded in ``retry_after_violations``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .spec import SlackSpec

# The suite's default: windows 10,000 times shorter than Slack's (Tier 2: 20 calls in 6 ms), so
# only a test that asks for real-proportioned windows ever meets them.
DEFAULT_SCALE: float | None = None


@dataclass(frozen=True)
class Rule:
    """At most ``calls`` accepted calls in any ``seconds`` (before scaling)."""

    calls: int
    seconds: float
    per_channel: bool = False


TIER_RULES: dict[str, Rule] = {
    "t1": Rule(1, 60.0),
    "t2": Rule(20, 60.0),
    "t3": Rule(50, 60.0),
    "t4": Rule(100, 60.0),
}
# "t5": the method's own rule; a special method not listed here is not limited.
SPECIAL_RULES: dict[str, Rule] = {
    "chat.postMessage": Rule(3, 3.0, per_channel=True),
    "auth.test": Rule(600, 60.0),
    "chat.getPermalink": Rule(600, 60.0),
}

Key = tuple[str, str, str]  # (token, method, channel or "")


@dataclass
class Tiers:
    """The fake's rate limiter, keyed like Slack's: per token and method (and channel)."""

    spec: SlackSpec
    scale: float | None = DEFAULT_SCALE
    now: Callable[[], float] = time.monotonic
    # Calls made to a key while a Retry-After given for it was still running.
    retry_after_violations: list[str] = field(default_factory=list)
    # Every 429 the tiers answered, as (method, channel or "").
    refused: list[tuple[str, str]] = field(default_factory=list)
    _accepted: dict[Key, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _retry_until: dict[Key, float] = field(default_factory=dict)

    def rule(self, method: str) -> Rule | None:
        """The method's rule per the reference; None for a method it gives no tier. The special
        methods keep their own rule without the reference (chat.postMessage is per channel)."""
        if method in SPECIAL_RULES:
            return SPECIAL_RULES[method]
        spec = self.spec.method(method)
        tier = (spec.raw.get("rate_limits") if spec is not None else None) or ""
        return SPECIAL_RULES.get(method) if tier == "t5" else TIER_RULES.get(str(tier))

    def key(self, method: str, args: dict[str, Any], token: str | None) -> Key:
        rule = self.rule(method)
        channel = str(args.get("channel") or "") if rule is not None and rule.per_channel else ""
        return (token or "", method, channel)

    def arrived(
        self, method: str, args: dict[str, Any], token: str | None, at: float
    ) -> int | None:
        """A call arrived at ``at``: record it if it ignored a Retry-After; returns the
        Retry-After to answer with 429 if it is past its tier, else None (it counts)."""
        key = self.key(method, args, token)
        until = self._retry_until.get(key)
        if until is not None and at < until:
            where = f" in {key[2]}" if key[2] else ""
            self.retry_after_violations.append(
                f"{method}{where}: called {until - at:.3f}s before its Retry-After ended"
            )
        rule = self.rule(method)
        if self.scale is None or rule is None:
            return None
        window = rule.seconds * self.scale
        accepted = self._accepted[key]
        while accepted and accepted[0] <= at - window:
            accepted.popleft()
        if len(accepted) < rule.calls:
            accepted.append(at)
            return None
        retry_after = max(1, math.ceil(accepted[0] + window - at))
        self.refused.append((method, key[2]))
        self.gave_retry_after(method, args, token, retry_after)
        return retry_after

    def gave_retry_after(
        self, method: str, args: dict[str, Any], token: str | None, seconds: int
    ) -> None:
        """A 429 goes out now: calls to the same key within ``seconds`` are violations."""
        key = self.key(method, args, token)
        until = self.now() + seconds
        self._retry_until[key] = max(self._retry_until.get(key, until), until)

    def clear(self) -> None:
        self.retry_after_violations.clear()
        self.refused.clear()
        self._accepted.clear()
        self._retry_until.clear()
