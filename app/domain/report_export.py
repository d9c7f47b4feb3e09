"""The report as data: JSON-ready values (stable keys, durations in whole seconds, null where
there is nothing to measure) and CSV, one row per scope and metric.

CSV columns: ``scope,metric,value,unit``. `scope` is ``all``, a severity (``P1``) or a trend
bucket (``trend 2026-07-06``, its label); `metric` is a dotted
name (``mtta.median``, ``phase.detection.within_box.met``, ``pages.L2``,
``type.database_connection``); `unit` is ``count``, ``seconds`` or ``ratio`` (0 to 1); nothing
to measure is an empty value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from app.domain.report import Figures, Report, Share, Spread

__all__ = ["STATUSES", "as_csv", "as_json"]

STATUSES = ("investigating", "mitigating")


# ------------------------------------------------------------------------------------ JSON


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _spread_json(spread: Spread) -> dict[str, Any]:
    return {
        "count": spread.count,
        "median_seconds": _seconds(spread.median),
        "p90_seconds": _seconds(spread.p90),
    }


def _share_json(share: Share) -> dict[str, Any]:
    ratio = None if share.ratio is None else round(share.ratio, 4)
    return {"met": share.met, "of": share.of, "ratio": ratio}


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "incidents": figures.incidents,
        "open": figures.open,
        "mtta": _spread_json(figures.mtta),
        "mttr": _spread_json(figures.mttr),
        "ack_within_target": _share_json(figures.ack_within_target),
        "time_in_status": {
            status: {
                "total_seconds": _seconds(figures.time_in_status.get(status, timedelta())),
                **_spread_json(figures.status_time.get(status, Spread())),
            }
            for status in STATUSES
        },
        "phases": [
            {
                "key": phase.key,
                "name": phase.name,
                "ends": phase.ends,
                "within_seconds": _seconds(phase.within),
                "reached": _spread_json(phase.reached),
                "within_box": _share_json(phase.met),
            }
            for phase in figures.phases
        ],
        "updates_kept": _share_json(figures.updates_kept),
        "reviews_within": _share_json(figures.reviews_within),
        "action_items": {
            "open": figures.action_items.open,
            "overdue": figures.action_items.overdue,
            "done": figures.action_items.done,
        },
        "pages_per_level": dict(figures.pages_per_level),
        "reached_level": dict(figures.reached_level),
    }


def as_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready values (what `render(report, "json")` writes)."""
    return {
        "period": {
            "label": report.label,
            "since": report.since.isoformat(),
            "until": report.until.isoformat(),
        },
        "generated_at": report.generated_at.isoformat(),
        "today": report.today.isoformat() if report.today else None,
        "review_within_seconds": _seconds(report.review_within),
        "overall": _figures_json(report.overall),
        "by_severity": {key: _figures_json(f) for key, f in report.by_severity.items()},
        "types": [{"type": key, "incidents": n} for key, n in report.types],
        "sources": [{"source": key, "incidents": n} for key, n in report.sources],
        "trend": [
            {
                "label": point.label,
                "since": point.since.isoformat(),
                "until": point.until.isoformat(),
                "incidents": point.incidents,
                "mtta_median_seconds": _seconds(point.mtta_median),
                "mttr_median_seconds": _seconds(point.mttr_median),
                "ack_within_target": _share_json(point.ack_within_target),
            }
            for point in report.trend
        ],
    }


# ------------------------------------------------------------------------------------ CSV

Row = tuple[str, str, Any, str]


def _spread_rows(scope: str, name: str, spread: Spread) -> Iterator[Row]:
    yield scope, f"{name}.count", spread.count, "count"
    yield scope, f"{name}.median", _seconds(spread.median), "seconds"
    yield scope, f"{name}.p90", _seconds(spread.p90), "seconds"


def _share_rows(scope: str, name: str, share: Share) -> Iterator[Row]:
    yield scope, f"{name}.met", share.met, "count"
    yield scope, f"{name}.of", share.of, "count"
    yield scope, f"{name}.ratio", None if share.ratio is None else round(share.ratio, 4), "ratio"


def _figures_rows(scope: str, figures: Figures) -> Iterator[Row]:
    yield scope, "incidents", figures.incidents, "count"
    yield scope, "open", figures.open, "count"
    yield from _spread_rows(scope, "mtta", figures.mtta)
    yield from _spread_rows(scope, "mttr", figures.mttr)
    yield from _share_rows(scope, "ack_within_target", figures.ack_within_target)
    for status in STATUSES:
        total = figures.time_in_status.get(status, timedelta())
        yield scope, f"status.{status}.total", _seconds(total), "seconds"
        yield from _spread_rows(
            scope, f"status.{status}", figures.status_time.get(status, Spread())
        )
    for phase in figures.phases:
        yield scope, f"phase.{phase.key}.time_box", _seconds(phase.within), "seconds"
        yield from _spread_rows(scope, f"phase.{phase.key}.reached", phase.reached)
        yield from _share_rows(scope, f"phase.{phase.key}.within_box", phase.met)
    yield from _share_rows(scope, "updates_kept", figures.updates_kept)
    yield from _share_rows(scope, "reviews_within", figures.reviews_within)
    yield scope, "action_items.open", figures.action_items.open, "count"
    yield scope, "action_items.overdue", figures.action_items.overdue, "count"
    yield scope, "action_items.done", figures.action_items.done, "count"
    for level, count in figures.pages_per_level.items():
        yield scope, f"pages.{level}", count, "count"
    for level, count in figures.reached_level.items():
        yield scope, f"reached.{level}", count, "count"


def _rows(report: Report) -> Iterator[Row]:
    yield from _figures_rows("all", report.overall)
    for key, figures in report.by_severity.items():
        yield from _figures_rows(key, figures)
    for key, count in report.types:
        yield "all", f"type.{key}", count, "count"
    for key, count in report.sources:
        yield "all", f"source.{key}", count, "count"
    for point in report.trend:
        scope = f"trend {point.label}"
        yield scope, "incidents", point.incidents, "count"
        yield scope, "mtta.median", _seconds(point.mtta_median), "seconds"
        yield scope, "mttr.median", _seconds(point.mttr_median), "seconds"
        yield from _share_rows(scope, "ack_within_target", point.ack_within_target)


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "metric", "value", "unit"])
    for scope, metric, value, unit in _rows(report):
        writer.writerow([scope, metric, "" if value is None else value, unit])
    return out.getvalue()
