"""The dashboard's HTML: one layout, the escaping every value goes through, and the headers
every signed-in page answers with.

Nothing here trusts text: a title, a name, a timeline entry is a person's, and goes through
`esc` (html.escape, quotes included) before it is part of a page. Markup is only ever the
literal strings of this package. There is no script: the Content-Security-Policy forbids any,
and the open incidents' clocks stay fresh with a meta refresh.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

__all__ = [
    "CSP",
    "SECURITY_HEADERS",
    "STYLESHEET",
    "esc",
    "href",
    "layout",
    "link",
    "page_response",
    "severity_badge",
    "status_badge",
    "table",
]

STYLESHEET = "/dashboard/static/dashboard.css"
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
SEVERITY_CLASSES = 5  # sev-0 .. sev-4 in the stylesheet; lower severities share sev-4
NAV = (
    ("board", "/dashboard", "Open incidents"),
    ("report", "/dashboard/report", "Report"),
)


def esc(value: object) -> str:
    """Any value as HTML text (also safe inside a quoted attribute)."""
    return html.escape(str(value), quote=True)


def href(url: str | None) -> str | None:
    """`url` as an attribute value when it is a plain http(s) address, else None: a stored
    link (a ticket's, Slack's) never becomes `javascript:` or anything but a web page."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return esc(url)


def link(url: str | None, label: str) -> str:
    """An outside link (a new tab, no referrer), or the label alone when the URL is not one."""
    target = href(url)
    if target is None:
        return esc(label)
    return f'<a href="{target}" rel="noopener noreferrer" target="_blank">{esc(label)}</a>'


def severity_badge(severity: str, rank: int, name: str = "") -> str:
    klass = f"sev sev-{min(max(rank, 0), SEVERITY_CLASSES - 1)}"
    title = f' title="{esc(name)}"' if name else ""
    return f'<span class="{klass}"{title}>{esc(severity)}</span>'


def status_badge(status: str) -> str:
    return f'<span class="status status-{esc(status)}">{esc(status.capitalize())}</span>'


def table(
    headers: Iterable[str],
    rows: Iterable[Iterable[str]],
    *,
    caption: str = "",
    css: str = "",
    labelled: bool = False,
) -> str:
    """A table of cells that are already HTML (escape what goes in them). `labelled` names
    each cell's column in `data-th`, which the stylesheet shows when a narrow screen stacks
    the row into a card."""
    names = list(headers)
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in names)

    def cell(index: int, value: str) -> str:
        label = f' data-th="{esc(names[index])}"' if labelled and index < len(names) else ""
        return f"<td{label}>{value}</td>"

    body = "".join(
        "<tr>" + "".join(cell(i, value) for i, value in enumerate(row)) + "</tr>" for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    klass = f' class="{esc(css)}"' if css else ""
    return f"<table{klass}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def layout(
    title: str,
    body: str,
    *,
    active: str = "",
    viewer: str = "",
    refresh_seconds: int | None = None,
) -> str:
    """A whole page: `title` (text), `body` (HTML built from escaped parts)."""
    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    )
    current = ' aria-current="page"'
    nav = "".join(
        f'<a href="{path}"{current if key == active else ""}>{esc(label)}</a>'
        for key, path, label in NAV
    )
    who = (
        f'<form class="viewer" method="post" action="/dashboard/logout">'
        f'<span>{esc(viewer)}</span><button type="submit">Sign out</button></form>'
        if viewer
        else ""
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"{refresh}<title>{esc(title)} · Incident dashboard</title>"
        f'<link rel="stylesheet" href="{STYLESHEET}"></head>'
        '<body><header class="top"><a class="brand" href="/dashboard">Incident dashboard</a>'
        f'<nav aria-label="Dashboard">{nav}</nav>{who}</header>'
        f'<main id="main">{body}</main></body></html>\n'
    )


def page_response(document: str, status_code: int = 200) -> HTMLResponse:
    """A signed-in page: never cached, never framed, no referrer, no script."""
    return HTMLResponse(document, status_code=status_code, headers=SECURITY_HEADERS)
