"""The report's page as a reader sees it: index.html in headless Chromium shows every figure and
logs no error.

Uses Debian's chromium and chromium-driver (``apt-get install chromium chromium-driver``, what
.ci/run does) through selenium; never downloads a browser or a driver. Without them the test
is skipped, saying which is missing. A screenshot of the whole page is left in the test's
tmp folder.
"""

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> str | None:
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found (apt-get install {package})"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]

# Every <img>: loaded, with a decoded size (a broken or missing file has naturalWidth 0).
_BROKEN_IMAGES = """
return Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.getAttribute('src'));
"""


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver's path given: selenium has nothing to look up or download
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_shows_every_figure_and_logs_no_error(browser, tiny_report, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    page = Path(tiny_report) / "index.html"
    assert page.is_file(), f"no {page}"
    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    n_images = browser.execute_script("return document.images.length")
    assert n_images > 0, "the page shows no figure"
    broken = browser.execute_script(_BROKEN_IMAGES)
    # the whole page in one screenshot, for a person to look at
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(int(height), 800), 16000))
    browser.save_screenshot(str(tmp_path / "index.png"))
    assert not broken, f"{len(broken)} of {n_images} images did not load: {broken}"
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, "\n".join(e["message"] for e in severe)
