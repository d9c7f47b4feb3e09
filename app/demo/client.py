"""The Slack client a demo visitor uses: what they do becomes the request Slack would send.

Every command, click, submission, message and reaction is built by the sandbox's builders
from what the bot really posted in the fake Slack, then signed and posted to the bot by the
sender, exactly as the test suite does it. What only a person's client knows is kept here:
whose modal is open (views are opened with a trigger id, and trigger ids are handed out to
one person's request), and the ephemeral answers each person was shown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from app.sandbox import builders as build
from app.sandbox import ephemeral as on_ephemeral
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import BOT_USER_ID
from app.sandbox.sender import FORM, SlackSender

COMMAND = "/incident"


class Refused(Exception):
    """What Slack's client would not let a person do, or what the bot refused (in words)."""


@dataclass
class Ephemeral:
    """A message only `user` sees in `channel` ("Only visible to you")."""

    user: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str = field(default_factory=lambda: f"{time.time():.6f}")


@dataclass
class Outcome:
    """What the page shows after an action: modal errors, or a note from the client."""

    errors: dict[str, str] = field(default_factory=dict)
    note: str = ""


class DemoClient:
    """One workspace's clients, for every person at once (the page says who you are)."""

    def __init__(self, fake: FakeSlack, sender: SlackSender) -> None:
        self.fake = fake
        self.sender = sender
        self.ephemerals: list[Ephemeral] = []
        self._trigger_owner: dict[str, str] = {}  # trigger id -> user
        self._response_urls: dict[str, tuple[str, str]] = {}  # key -> (user, channel)
        self._clicked_ephemerals: dict[str, str] = {}  # response_url key -> the ephemeral's ts
        self._modals: dict[str, list[str]] = {}  # user -> open view ids, top last
        self._seen_calls = 0
        self._seen_ephemerals = 0

    # --- what a person does ---------------------------------------------------------------

    async def command(self, user: str, channel: str, line: str) -> Outcome:
        """A line typed in the message box that starts with a slash."""
        name, _, text = line.strip().partition(" ")
        if name != COMMAND:
            raise Refused(f"{name} is not a valid command. This workspace has {COMMAND}.")
        fields = build.slash_command(self.fake, text.strip(), user_id=user, channel_id=channel)
        self._owned(user, channel, fields["trigger_id"], fields["response_url"])
        response = await self.sender.post(urlencode(fields), FORM)
        answer = self._answer(response)
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            self._show(user, channel, answer)
        return Outcome()

    async def message(self, user: str, channel: str, text: str, thread_ts: str = "") -> Outcome:
        """A person posts a message; the bot hears it where it is a member (message.*)."""
        room = self._channel(channel)
        if user not in room.members:
            if room.is_private or room.is_im:
                raise Refused("You are not a member of this conversation.")
            room.members.add(user)  # posting in a public channel joins it, as in Slack
        ts = self.fake.add_message(channel, text, user=user, thread_ts=thread_ts or None)
        if BOT_USER_ID in room.members and not room.is_im:
            self._answer(await self.sender.event(build.message_event(self.fake, channel, ts)))
        return Outcome()

    async def react(self, user: str, channel: str, ts: str, emoji: str) -> Outcome:
        """Toggle `emoji` on a message (reaction_added / reaction_removed)."""
        room = self._channel(channel)
        added = (emoji, user) not in self.fake.reactions.get((channel, ts), [])
        if added:
            self.fake.add_reaction(channel, ts, emoji, user=user)
        else:
            self.fake.remove_reaction(channel, ts, emoji, user=user)
        if BOT_USER_ID in room.members:
            event = build.reaction_event(self.fake, channel, ts, emoji, user_id=user, added=added)
            self._answer(await self.sender.event(event))
        return Outcome()

    async def click(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        block_id: str,
        selected: Any = None,
    ) -> Outcome:
        """A person uses a button, checkbox or select of a message the bot posted."""
        message = self.fake.state.find_message(channel, ts)
        if message is None:
            return await self._click_ephemeral(user, channel, ts, action_id, block_id)
        payload = self._built(
            build.block_actions_on_message,
            self.fake,
            message,
            action_id,
            user_id=user,
            selected=selected,
            block_id=block_id,
        )
        self._owned(user, channel, payload["trigger_id"], payload["response_url"])
        self._answer(await self.sender.interaction(payload))
        return Outcome()

    async def _click_ephemeral(
        self, user: str, channel: str, ts: str, action_id: str, block_id: str
    ) -> Outcome:
        """A button on an answer only `user` sees: Slack sends no copy of the message, and the
        bot answers through the payload's response_url (replacing it, as in Slack)."""
        shown = next(
            (e for e in self.shown(user, channel) if e.ts == ts),
            None,
        )
        if shown is None:
            raise Refused("That message is gone.")
        message = on_ephemeral.Ephemeral(channel, user, ts, shown.text, shown.blocks)
        payload = self._built(
            on_ephemeral.block_actions_on_ephemeral,
            self.fake,
            message,
            action_id,
            user_id=user,
            block_id=block_id,
        )
        self._owned(user, channel, payload["trigger_id"], payload["response_url"])
        self._clicked_ephemerals[payload["response_url"].rsplit("/", 1)[-1]] = ts
        self._answer(await self.sender.interaction(payload))
        return Outcome()

    async def change(
        self, user: str, view_id: str, block_id: str, action_id: str, answers: Mapping[str, Any]
    ) -> Outcome:
        """A person changes an element of a modal that dispatches actions (an impact ticked)."""
        payload = self._built(
            build.block_actions_in_view,
            self.fake,
            {"id": view_id},
            action_id,
            user_id=user,
            answers=answers,
            block_id=block_id,
        )
        self._trigger_owner[payload["trigger_id"]] = user
        self._answer(await self.sender.interaction(payload))
        return Outcome()

    async def submit(self, user: str, view_id: str, answers: Mapping[str, Any]) -> Outcome:
        """The modal's submit button: closed, replaced or kept open with errors, as the bot
        answered."""
        view = {"id": view_id}
        response = await self._sent(self.sender.submit(view, dict(answers), user=user))
        answer = self._answer(response)
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            return Outcome(errors={str(k): str(v) for k, v in answer.get("errors", {}).items()})
        if action == "push" and isinstance(answer.get("view"), dict):
            return Outcome(note="The bot pushed a view this demo cannot show.")
        if action == "clear":
            self._modals.pop(user, None)
        elif action != "update":
            self._close(user, view_id)
        return Outcome()

    async def dismiss(self, user: str, view_id: str) -> Outcome:
        """Cancel: the modal closes; the bot hears of it if the view asked (notify_on_close)."""
        view = self.fake.views.get(view_id)
        self._close(user, view_id)
        if view is not None and view.get("notify_on_close"):
            self._answer(await self.sender.dismiss(view, user=user))
        return Outcome()

    # --- what a person's client shows -----------------------------------------------------

    def modal(self, user: str) -> dict[str, Any] | None:
        """The view on top of `user`'s modal stack, as Slack holds it now."""
        self.sync()
        stack = self._modals.get(user) or []
        return self.fake.views.get(stack[-1]) if stack else None

    def shown(self, user: str, channel: str) -> list[Ephemeral]:
        self.sync()
        return [e for e in self.ephemerals if e.user == user and e.channel == channel]

    def sync(self) -> None:
        """Take in what the bot did since last time: views it opened for someone, ephemeral
        messages it posted, answers it sent to a response URL."""
        calls = self.fake.calls
        while self._seen_calls < len(calls) and calls[self._seen_calls].status != 0:
            call = calls[self._seen_calls]
            self._seen_calls += 1
            if call.method in ("views.open", "views.push") and call.ok:
                owner = self._trigger_owner.get(str(call.args.get("trigger_id")))
                if owner is not None:
                    stack = self._modals.setdefault(owner, [])
                    if call.method == "views.open":
                        stack.clear()
                    stack.append(str(call.response["view"]["id"]))
            elif call.method == "response_url" and call.status == 200:
                key = str(call.args.get("key"))
                user, channel = self._response_urls.get(key, ("", ""))
                if user:
                    self._show(user, channel, call.args, replacing=self._replaced(key, call.args))
        ephemerals = self.fake.ephemerals
        for posted in ephemerals[self._seen_ephemerals :]:
            self._show(str(posted.get("user")), str(posted.get("channel")), posted)
        self._seen_ephemerals = len(ephemerals)

    # --- inside -----------------------------------------------------------------------------

    def _owned(self, user: str, channel: str, trigger_id: str, response_url: str) -> None:
        self._trigger_owner[trigger_id] = user
        self._response_urls[response_url.rsplit("/", 1)[-1]] = (user, channel)

    def _close(self, user: str, view_id: str) -> None:
        stack = self._modals.get(user) or []
        if view_id in stack:
            del stack[stack.index(view_id) :]

    def _replaced(self, key: str, body: Mapping[str, Any]) -> str | None:
        """The ts of the ephemeral a response_url answer replaces (`replace_original`)."""
        replace = body.get("replace_original") in (True, "true")
        return self._clicked_ephemerals.get(key) if replace else None

    def _show(
        self, user: str, channel: str, body: Mapping[str, Any], replacing: str | None = None
    ) -> None:
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        shown = Ephemeral(user, channel, str(body.get("text") or ""), list(blocks or []))
        for index, earlier in enumerate(self.ephemerals):
            if replacing is not None and earlier.ts == replacing:
                shown.ts = earlier.ts  # in place, where it was
                self.ephemerals[index] = shown
                return
        self.ephemerals.append(shown)

    def _channel(self, channel_id: str) -> Any:
        room = self.fake.channels.get(channel_id)
        if room is None:
            raise Refused("No such channel.")
        if room.archived:
            raise Refused("This channel has been archived.")
        return room

    @staticmethod
    def _built(builder: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(builder(*args, **kwargs))
        except build.NotOffered as exc:
            raise Refused(str(exc)) from None

    @staticmethod
    async def _sent(request: Any) -> httpx.Response:
        try:
            return await request
        except build.NotOffered as exc:
            raise Refused(str(exc)) from None

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        """The bot's answer; a refusal (4xx/5xx) is shown to the person in its words."""
        if response.status_code >= 400:
            raise Refused(f"The bot answered {response.status_code}: {response.text[:300]}")
        if not response.content or response.content == b"null":
            return None
        try:
            return response.json()
        except ValueError:
            return None
