"""Fixtures for report tests: one generated starter taxonomy shared by the module's tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.report.browser import browser
from tests.report.helpers import generate_starter


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with the starter taxonomy, generated with the mixed teacher."""
    return generate_starter(tmp_path_factory.mktemp("starter") / "repo")


@pytest.fixture(scope="module")
def chrome() -> Any:
    """Headless chromium; skipped without one only when LABTAX_REQUIRE_BROWSER is unset (CI sets it)."""
    driver = browser()
    if driver is None:
        if os.environ.get("LABTAX_REQUIRE_BROWSER"):
            pytest.fail("LABTAX_REQUIRE_BROWSER is set but chromium or chromedriver is not installed")
        pytest.skip("no chromium/chromedriver (set LABTAX_REQUIRE_BROWSER=1 to make this a failure)")
    yield driver
    driver.quit()
