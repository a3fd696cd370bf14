"""Debian's chromium driven by selenium (chromium-driver), headless; used by the browser test and
bench/bench_report.py. `browser()` gives None when chromium or its driver is not installed."""

from __future__ import annotations

import shutil
from typing import Any


def browser(width: int = 1400, height: int = 1000) -> Any | None:
    """A headless chromium WebDriver that keeps the page's console log, or None without chromium."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        return None
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Console messages at level SEVERE (uncaught errors, console.error) since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
