"""Text from people and alerts is shown literally: never a mention, a broadcast, a link or a
heading it did not mean to be."""

from __future__ import annotations

from app.domain.text import link, markdown_text, mrkdwn, normalize_title, plain, visible


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
