"""`/incident contact`: a person lists, adds and removes how pages reach them beyond Slack,
through the real app and the fake Slack. Addresses are checked strictly (E.164 for phones),
a refusal changes nothing, nobody touches another person's methods, and nothing typed comes
back as Slack markup."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select

from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.sender import FORM, SlackSender
from app.services.contacts import MAX_METHODS
from app.store.models import ContactMethod
from tests.running import command


async def contact(slack: SlackSender, bot: BotContext, text: str, user: str = "UREPORTER") -> str:
    return await command(slack, bot, f"contact {text}".strip(), channel=None, user=user)


async def linked(slack: SlackSender, bot: BotContext, text: str) -> str:
    """`/incident contact <text>` where `text` holds Slack's own link markup, as Slack sends an
    address it linked (the sender would escape it as typed text)."""
    fields = build.slash_command(slack.fake, "", user_id="UREPORTER", channel_id="CGENERAL")
    fields["text"] = f"contact {text}"
    response = await slack.post(urlencode(fields), FORM)
    await bot.tasks.drain()
    return str(response.json()["text"])


async def stored(bot: BotContext) -> list[tuple[str, str, str]]:
    async with bot.sessions() as session:
        rows = await session.execute(select(ContactMethod).order_by(ContactMethod.id))
        return [(m.user_id, m.kind, m.address) for m in rows.scalars()]


async def test_a_person_adds_lists_and_removes_their_own_methods(
    slack: SlackSender, bot: BotContext
) -> None:
    assert "You have no contact methods" in await contact(slack, bot, "")
    assert "Added E-mail: ada@example.com" in await contact(slack, bot, "add email ada@example.com")
    assert "Added SMS: +33612345678" in await contact(slack, bot, "add sms +33612345678")
    assert "Added Voice call: +33612345678" in await contact(slack, bot, "add voice +33612345678")
    assert await stored(bot) == [
        ("UREPORTER", "email", "ada@example.com"),
        ("UREPORTER", "sms", "+33612345678"),
        ("UREPORTER", "voice", "+33612345678"),
    ]
    listing = await contact(slack, bot, "")
    assert "• E-mail: ada@example.com" in listing and "• SMS: +33612345678" in listing
    assert "• Voice call: +33612345678" in listing
    # Nothing is set up on this bot (no SMTP, no Twilio): kept, and said so.
    assert "not set up on this bot yet" in listing

    # The phone number is both SMS and voice: removing it removes both.
    assert "Removed +33612345678 (2 ways" in await contact(slack, bot, "remove +33612345678")
    assert await stored(bot) == [("UREPORTER", "email", "ada@example.com")]
    assert "Removed ada@example.com" in await contact(slack, bot, "remove ada@example.com")
    assert await stored(bot) == []


async def test_slack_link_forms_of_an_address_are_taken_as_the_address(
    slack: SlackSender, bot: BotContext
) -> None:
    # Slack may send an address it recognised as a link: <mailto:…|…>, <tel:…|…>.
    await linked(slack, bot, "add email <mailto:ada@Example.COM|ada@Example.COM>")
    await linked(slack, bot, "add sms <tel:+15551234567|+15551234567>")
    assert await stored(bot) == [
        ("UREPORTER", "email", "ada@example.com"),  # the domain in lower case
        ("UREPORTER", "sms", "+15551234567"),
    ]
    # A link whose text is not its target is not an address anyone typed.
    answer = await linked(slack, bot, "add email <mailto:eve@evil.test|ada@example.com>")
    assert "text and address differ" in answer and "Nothing was changed" in answer
    assert "Removed" in await linked(slack, bot, "remove <mailto:ada@example.com|ada@example.com>")
    assert await stored(bot) == [("UREPORTER", "sms", "+15551234567")]


async def test_anything_but_e164_and_plain_addresses_is_refused_and_changes_nothing(
    slack: SlackSender, bot: BotContext
) -> None:
    phones = ["0612345678", "+0612345678", "33612345678", "+33(6)12345678", "+3361234567890123"]
    phones += ["+33-6-12-34-56-78", "+12345", "+33612345678x1", "+٣٣٦١٢٣٤٥٦٧٨"]
    for phone in phones:
        answer = await contact(slack, bot, f"add sms {phone}")
        assert "not a phone number in E.164" in answer and "Nothing was changed" in answer, phone
    emails = ["ada", "ada@example", "ada@@example.com", "ada@exa_mple.com", "a..b@example.com"]
    emails += ["ada@example.com.", "ädä@example.com", "ada@example.c0m", "<@UOTHER>"]
    for address in emails:
        answer = await contact(slack, bot, f"add email {address}")
        assert "is not an e-mail address" in answer and "Nothing was changed" in answer, address
    assert "not a kind of contact" in await contact(slack, bot, "add fax +33612345678")
    # A number typed with spaces is more than one word: the usage, not a guess.
    spaced = await contact(slack, bot, "add sms +33 6 12 34 56 78")
    assert "`add` takes a kind and one address" in spaced
    assert "/incident contact add email|sms|voice" in await contact(slack, bot, "delete all")
    assert await stored(bot) == []


async def test_a_person_cannot_remove_or_see_someone_elses_methods(
    slack: SlackSender, bot: BotContext
) -> None:
    await contact(slack, bot, "add email ada@example.com", user="UONCALL")
    answer = await contact(slack, bot, "remove ada@example.com", user="UOTHER")
    assert "You have no contact method “ada@example.com” (yours: none)" in answer
    assert "ada@example.com" not in await contact(slack, bot, "", user="UOTHER")
    assert await stored(bot) == [("UONCALL", "email", "ada@example.com")]


async def test_adding_twice_keeps_one_and_a_person_has_at_most_ten(
    slack: SlackSender, bot: BotContext
) -> None:
    await contact(slack, bot, "add email ada@example.com")
    again = await contact(slack, bot, "add email ada@EXAMPLE.com")
    assert "You already have E-mail: ada@example.com" in again
    for n in range(2, MAX_METHODS + 1):
        await contact(slack, bot, f"add email ada{n}@example.com")
    assert len(await stored(bot)) == MAX_METHODS
    refused = await contact(slack, bot, "add sms +33612345678")
    assert f"You have {MAX_METHODS} contact methods already" in refused
    assert len(await stored(bot)) == MAX_METHODS


async def test_what_was_typed_never_comes_back_as_markup(
    slack: SlackSender, bot: BotContext
) -> None:
    for typed in ("<!channel>", "<https://evil.test|click>", "a&b<c>@example.com", "@here"):
        answer = await contact(slack, bot, f"add email {typed}")
        assert "Nothing was changed" in answer
        assert "<!" not in answer and "<http" not in answer and "<c>" not in answer, answer
    answer = await contact(slack, bot, "remove <!here>")
    assert "<!here>" not in answer and "You have no contact method" in answer
    assert await stored(bot) == []
