"""FakeTwilio's records in Twilio's published shapes (the 2010-04-01 API's Message and Call
resources, JSON), its error bodies, and the list filters of Messages and Calls."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

API = "2010-04-01"
# The parameters of Twilio's reference (twilio-oai, twilio_api_v2010): anything else is a
# client's mistake.
# fmt: off
MESSAGE_PARAMS = frozenset({
    "To", "From", "Body", "MessagingServiceSid", "MediaUrl", "StatusCallback", "ApplicationSid",
    "MaxPrice", "ProvideFeedback", "Attempt", "ValidityPeriod", "ForceDelivery",
    "ContentRetention", "AddressRetention", "SmartEncoded", "PersistentAction", "ShortenUrls",
    "ScheduleType", "SendAt", "SendAsMms", "ContentSid", "ContentVariables", "RiskCheck",
    "FallbackFrom", "TrafficType",
})
CALL_PARAMS = frozenset({
    "To", "From", "Url", "Twiml", "ApplicationSid", "Method", "FallbackUrl", "FallbackMethod",
    "StatusCallback", "StatusCallbackEvent", "StatusCallbackMethod", "SendDigits", "Timeout",
    "Record", "MachineDetection", "TimeLimit", "CallerId", "Trim", "CallReason",
})
LIST_PARAMS = {
    "Messages": frozenset({
        "To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken",
    }),
    "Calls": frozenset({
        "To", "From", "ParentCallSid", "Status", "StartTime", "StartTime<", "StartTime>",
        "EndTime", "EndTime<", "EndTime>", "PageSize", "Page", "PageToken",
    }),
}
# fmt: on
E164 = re.compile(r"\+[1-9]\d{1,14}")
# The codes the fake answers with (https://www.twilio.com/docs/errors/<code>).
ERRORS: dict[int, str] = {
    20001: "Invalid filter {value} (the fake's words: Twilio's code for this is unverified)",
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21201: "No 'To' number is specified",
    21205: "Url is not a valid URL: {value}",
    21210: "The source phone number provided, {value}, is not yet verified for your account. "
    "You may only make calls from phone numbers that you've verified or purchased from Twilio.",
    21211: "The 'To' number {value} is not a valid phone number.",
    21213: "No 'From' number is specified",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21606: "The From phone number {value} is not a valid, SMS-capable inbound phone number or "
    "short code for your account.",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


def error_body(code: int, status: int, **values: str) -> dict[str, Any]:
    """Twilio's error JSON: {code, message, more_info, status}."""
    return {
        "code": code,
        "message": ERRORS[code].format(**values),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(when: datetime | None) -> str | None:
    """Twilio's dates: "Fri, 13 Aug 2010 01:16:24 +0000"."""
    return None if when is None else when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass
class Message:
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str  # outbound-api | inbound | outbound-reply
    date_created: datetime
    status: str = "queued"
    date_sent: datetime | None = None
    sid: str = field(default_factory=lambda: new_sid("SM"))

    def resource(self) -> dict[str, Any]:
        uri = f"/{API}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_sent or self.date_created),
            "direction": self.direction,
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(self.body) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{uri}/Media.json",
                "feedback": f"{uri}/Feedback.json",
            },
            "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass
class Call:
    account_sid: str
    to: str
    from_: str
    url: str
    method: str
    date_created: datetime
    status: str = "queued"
    start_time: datetime | None = None
    end_time: datetime | None = None
    sid: str = field(default_factory=lambda: new_sid("CA"))

    def resource(self) -> dict[str, Any]:
        uri = f"/{API}/Accounts/{self.account_sid}/Calls/{self.sid}"
        duration = (
            str(int((self.end_time - self.start_time).total_seconds()))
            if self.end_time and self.start_time
            else None
        )
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.end_time or self.start_time or self.date_created),
            "direction": "outbound-api",
            "duration": duration,
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": self.status,
            "subresource_uris": {
                "notifications": f"{uri}/Notifications.json",
                "recordings": f"{uri}/Recordings.json",
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }


class BadFilter(ValueError):
    """A list filter the fake cannot read (Twilio's documented forms: YYYY-MM-DD)."""


def filter_day(value: str) -> date | datetime:
    """ "YYYY-MM-DD" (Twilio's documented form) or "YYYY-MM-DDTHH:MM:SSZ" (what twilio-python
    sends)."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise BadFilter(value) from None


def _compare(when: datetime | None, op: str, bound: date | datetime) -> bool:
    """`when` against a DateSent / StartTime bound; a record without the date never matches."""
    if when is None:
        return False
    left: date | datetime = when.astimezone(UTC)
    if not isinstance(bound, datetime):
        left = when.astimezone(UTC).date()
    if op == "=":
        return left == bound
    if op == "<=":
        return left <= bound
    if op == "<":
        return left < bound
    return left >= bound


def date_matches(when: datetime | None, query: dict[str, str], name: str, before: str) -> bool:
    """Twilio's date filters: `Name` (that day), `Name>` (on or after) and `Name<` (`before`:
    "<=" for Messages' DateSent, "<" for Calls' StartTime, as their references say)."""
    for suffix, op in (("", "="), (">", ">="), ("<", before)):
        raw = query.get(name + suffix)
        if raw is not None and not _compare(when, op, filter_day(raw)):
            return False
    return True


def filtered_messages(messages: list[Message], query: dict[str, str]) -> list[Message]:
    """Messages by To, From and DateSent; most recent first, the still queued on top."""
    found = [
        m
        for m in messages
        if query.get("To") in (None, m.to)
        and query.get("From") in (None, m.from_)
        and date_matches(m.date_sent, query, "DateSent", "<=")
    ]
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda m: m.date_sent or never, reverse=True)


def filtered_calls(calls: list[Call], query: dict[str, str]) -> list[Call]:
    """Calls by To, From, Status, StartTime and EndTime; most recent first."""
    found = [
        c
        for c in calls
        if query.get("To") in (None, c.to)
        and query.get("From") in (None, c.from_)
        and query.get("Status") in (None, c.status)
        and date_matches(c.start_time, query, "StartTime", "<")
        and date_matches(c.end_time, query, "EndTime", "<")
    ]
    return sorted(found, key=lambda c: c.date_created, reverse=True)


def page(
    account_sid: str,
    resource: str,
    found: list[Any],
    query: dict[str, str],
    size: int,
    number: int,
) -> dict[str, Any]:
    """One page of a list, with Twilio's paging keys (URIs relative to api.twilio.com)."""
    chunk = found[number * size : (number + 1) * size]
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}
    base = f"/{API}/Accounts/{account_sid}/{resource}.json"

    def uri(index: int) -> str:
        token = {"PageToken": f"PA{index}"} if index else {}
        return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': index, **token})}"

    more = (number + 1) * size < len(found)
    return {
        resource.lower(): [item.resource() for item in chunk],
        "end": number * size + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if more else None,
        "page": number,
        "page_size": size,
        "previous_page_uri": uri(number - 1) if number else None,
        "start": number * size,
        "uri": uri(number),
    }
