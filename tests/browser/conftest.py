"""Headless Chromium for the console's tests, driven by Selenium.

The rule it keeps, as tests/pg.py does for PostgreSQL: the browser tests
never skip quietly. Chromium and its driver come from Debian's packages
(`scripts/setup --with-tools` installs them); when they are missing the tests
fail, unless ROLLCALL_TEST_BROWSER=skip says so explicitly (local development
only; CI never sets it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1100,760",
)


def _missing() -> str | None:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not absent:
        return None
    return (
        f"{', '.join(absent)} missing: run scripts/setup --with-tools"
        " (Debian's chromium and chromium-driver)"
    )


@pytest.fixture
def browser() -> Iterator[object]:
    """A fresh headless Chromium (its own profile directory), quit afterwards."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("ROLLCALL_TEST_BROWSER") == "skip":
            pytest.skip(f"ROLLCALL_TEST_BROWSER=skip: {missing}")
        pytest.fail(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="rollcall-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            yield driver
        finally:
            driver.quit()
