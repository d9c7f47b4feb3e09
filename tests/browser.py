"""The browser the browser tests drive: the distribution's Chromium (`apt-get install
chromium`; .ci/run installs it), run by Playwright with that executable so nothing is
downloaded. Without it, those tests skip and say how to get it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM: str | None = next(
    (
        path
        for path in (
            os.environ.get("CHROMIUM"),
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        )
        if path and Path(path).is_file()
    ),
    None,
)

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium executable (/usr/bin/chromium): `apt-get install chromium` to run the "
    "browser test",
)
