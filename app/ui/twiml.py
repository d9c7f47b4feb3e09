"""What a page says on the phone: the SMS text, and the TwiML (Twilio's XML) of the call and of
the answers to an SMS reply or a key press.

TwiML is built with ElementTree, never by pasting strings: an incident title such as
`DB <down> & "slow"` becomes character data and attribute values escaped by the serializer, so
nothing a person types can add a verb (a `<Dial>` to another number, a `<Redirect>`) to a call.
User text also loses invisible and control characters (XML 1.0 forbids most of them) and is
clipped, so a long title cannot push "press 1" out of the call.

The SMS stays in GSM-7 where the title does (" - ", not an em dash): one 160-character segment
arrives whole, where a concatenated one may arrive in pieces, and costs one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.domain.text import visible

__all__ = [
    "ACK_DIGIT",
    "call_script",
    "empty",
    "message",
    "page_sms",
    "prompt",
    "say",
]

ACK_DIGIT = "1"
SMS_TITLE_MAX = 80
SPOKEN_TITLE_MAX = 200
GATHER_SECONDS = 10
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def clip(text: str, limit: int) -> str:
    """`text` on one line, without invisible characters, at most `limit` characters (an
    ASCII "...", which GSM-7 has and a voice reads as a pause)."""
    shown = visible(text)
    return shown if len(shown) <= limit else shown[: limit - 3].rstrip() + "..."


def page_sms(severity: str, public_id: str, title: str | None, tag: str) -> str:
    """ "[P0] INC-… <title> - reply 1 to acknowledge #<tag>". The tag (the step's) ends the text,
    so a retry finds this page among the number's messages; `title` None leaves it out (a
    private incident's title does not go to a lock screen)."""
    head = f"[{severity}] {public_id}"
    if title:
        head += f" {clip(title, SMS_TITLE_MAX)}"
    return f"{head} - reply {ACK_DIGIT} to acknowledge {tag}"


def call_script(severity: str, severity_name: str, public_id: str, title: str | None) -> str:
    """What the call says before "press 1"."""
    words = f"This is the incident bot. {severity_name} incident {public_id}, severity {severity}"
    if title:
        words += f": {clip(title, SPOKEN_TITLE_MAX)}"
    return words + "."


def _document(root: ET.Element) -> str:
    return DECLARATION + ET.tostring(root, encoding="unicode")


def _say(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, "Say").text = clip(text, 1000)


def prompt(script: str, action: str, *, again: bool = False) -> str:
    """The call: `script`, then "press 1" while a one-digit <Gather> listens; its digit is
    posted to `action` (absolute). Nothing pressed: a goodbye, and the page stands."""
    root = ET.Element("Response")
    gather = ET.SubElement(
        root,
        "Gather",
        numDigits="1",
        action=action,
        method="POST",
        timeout=str(GATHER_SECONDS),
    )
    if again:
        _say(gather, "That was not 1.")
    _say(gather, script)
    _say(gather, f"Press {ACK_DIGIT} to acknowledge.")
    _say(root, "Nothing was pressed. The page stands; acknowledge it in Slack. Goodbye.")
    return _document(root)


def say(text: str) -> str:
    """Say `text`, then hang up."""
    root = ET.Element("Response")
    _say(root, text)
    ET.SubElement(root, "Hangup")
    return _document(root)


def message(text: str) -> str:
    """The answer to an inbound SMS: one SMS back with `text`."""
    root = ET.Element("Response")
    ET.SubElement(root, "Message").text = clip(text, 320)
    return _document(root)


def empty() -> str:
    """No answer (to an opt-out keyword, which Twilio answers itself, or a stranger)."""
    return _document(ET.Element("Response"))
