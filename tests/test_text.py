"""Text from people and alerts is shown literally: never a mention, a broadcast, a link or a
heading it did not mean to be."""

from __future__ import annotations

from app.domain.command_text import parse_severity
from app.domain.text import (
    link,
    markdown_text,
    mrkdwn,
    normalize_title,
    plain,
    readable,
    restore_mentions,
    unbroadcast,
    visible,
)
from app.domain.timeline import Kind, named_people


def test_mrkdwn_turns_broadcasts_mentions_and_links_into_literal_text() -> None:
    text = "<!channel> ask <@U0CEO> to <https://evil.example|Re-login> & wait"
    assert mrkdwn(text) == (
        "&lt;!channel&gt; ask &lt;@U0CEO&gt; to &lt;https://evil.example|Re-login&gt; &amp; wait"
    )
    assert plain(mrkdwn(text)) == text


def test_links_from_outside_are_kept_only_as_plain_http_urls() -> None:
    assert (
        link("https://sentry.io/issues/1/", "Issue #1") == "<https://sentry.io/issues/1/|Issue #1>"
    )
    assert link("javascript:alert(1)", "Open") == "Open"
    assert link("https://a.example|<!channel>", "Open") == "Open"
    assert link("https://a.example/x y", "Open") == "Open"
    assert link(None, "<@U1> label") == "&lt;@U1&gt; label"
    assert link("ftp://files.example/x", "") == "link"


def test_a_multi_line_note_cannot_start_a_heading_or_a_list_in_a_document() -> None:
    forged = "Rolled back\n## Root Cause\n- blame\n1. step\n> quote\n<script>x</script>"
    rendered = markdown_text(forged)
    assert rendered.splitlines() == [
        "Rolled back  ",
        "\\## Root Cause  ",
        "\\- blame  ",
        "1\\. step  ",
        "&gt; quote  ",
        "&lt;script&gt;x&lt;/script&gt;",
    ]


def test_titles_lose_invisible_characters_and_extra_space() -> None:
    assert normalize_title("  Checkout\u200b   down\n\tin EU \u202e") == "Checkout down in EU"
    assert visible("a\u2066b\u2069c") == "abc"


def test_a_title_with_nothing_visible_is_empty() -> None:
    for title in ("", "   ", "\u200b\u200c\u200d", "\u202e\u2066", "\ufeff \u00ad"):
        assert normalize_title(title) == ""
    assert normalize_title("💥") == "💥"  # an emoji is visible


def test_a_link_keeps_its_query_string_escaped_and_refuses_invisible_characters() -> None:
    assert link("https://a.example/?x=1&y=2", "Open") == "<https://a.example/?x=1&amp;y=2|Open>"
    assert link("HTTPS://a.example/", "Open") == "<HTTPS://a.example/|Open>"
    assert link("https://a\u202e.example/", "Open") == "Open"
    assert link("https:///no-host", "Open") == "Open"


def test_a_note_cannot_link_or_embed_in_a_document_but_names_people_as_the_bot_does() -> None:
    rendered = markdown_text("see [Re-login](https://evil) ![x](https://t) <@U1>\n___\n~~~")
    assert rendered.splitlines() == [
        "see \\[Re-login\\](https://evil) !\\[x\\](https://t) <@U1>  ",
        "\\___  ",
        "\\~~~",
    ]


def test_titles_keep_emoji_joiners_and_punctuation_but_not_blank_fillers() -> None:
    assert normalize_title("👩\u200d💻 laptop ❤\ufe0f") == "👩\u200d💻 laptop ❤\ufe0f"
    assert normalize_title("\u200d\ufe0f lone joiners \u200d") == "lone joiners"
    assert normalize_title("!!!") == "!!!"
    for blank in ("\u3164\u3164", "\u2800", "\U000e0041\U000e0042", "\x00\x07"):
        assert normalize_title(blank) == ""


def test_a_captured_message_is_shown_again_without_its_broadcasts() -> None:
    message = "<!channel> <!here|here> <!subteam^S1|@sre> ask <@U1> in <#C1|ops> <https://x|y>"
    assert unbroadcast(message) == "@channel @here @sre ask <@U1> in <#C1|ops> <https://x|y>"


def test_a_captured_message_reads_as_text_in_a_document() -> None:
    message = (
        "<!here> <@U1|ana> in <#C1|ops>: <https://x.example|docs> <https://y.example> &lt;b&gt;"
    )
    assert (
        readable(message) == "@here <@U1> in #ops: docs (https://x.example) https://y.example <b>"
    )


def test_only_the_people_the_bot_named_are_mentioned_again() -> None:
    escaped = mrkdwn("<@ULEAD> is the incident lead, typed <@UCEO>")
    people = named_people(Kind.LEAD_ASSIGNED, {"lead": "ULEAD", "previous": None})
    assert restore_mentions(escaped, people) == (
        "<@ULEAD> is the incident lead, typed &lt;@UCEO&gt;"
    )
    assert named_people(Kind.NOTE, {"lead": "ULEAD"}) == []
    assert named_people(Kind.ACTION_ITEM, {"owner": "U2", "people": ["U3", "<!channel>"]}) == [
        "U2",
        "U3",
    ]


def test_a_severity_reason_is_stored_as_typed() -> None:
    keys = ("P0", "P1")
    assert parse_severity("P1 <!channel> ask <@U1|ana> &amp; &lt;b&gt;", keys) == (
        "P1",
        "@channel ask @ana & <b>",
    )
