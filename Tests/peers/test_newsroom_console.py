"""The newsroom console (`GET /newsroom`) in a real browser: headless Chromium driven by selenium.

An editor signs in with an API key, publishes a BREAKING line from the publication's ticker, and
sees it appear in the recent-items list; the API confirms what was published. The page must work
without the network (it may load nothing from another origin) and must fit a phone screen
(390x844) without horizontal scrolling.

Skipped, with the reason, when Chromium or its driver is not installed, or while
`newsalert serve` is not built.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)
WAIT_TIMEOUT = 20.0  # seconds for any one thing to appear on the page


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium (fresh profile, no background traffic), quit at teardown."""
    missing = [os.fspath(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (Debian packages chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.fspath(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--window-size=1280,900",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.fspath(CHROMEDRIVER), log_output=os.fspath(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, message: str):
    """Waits (bounded) until ``condition(driver)`` is truthy; returns its value."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_TIMEOUT, poll_frequency=0.2).until(condition)
    except TimeoutException:
        # What the page says about it: its alerts and status lines first, then the start of its text.
        notices = driver.execute_script(
            "return Array.from(document.querySelectorAll('[role=alert],[role=status],.error'),"
            " node => node.textContent.trim()).filter(Boolean)")
        body = driver.find_element("tag name", "body").text[:1500]
        pytest.fail(f"timed out after {WAIT_TIMEOUT:.0f} s waiting for {message}\n"
                    f"page notices: {notices}\npage text:\n{body}")


def element(driver, element_id: str):
    """The element with this id, once it is displayed and enabled."""
    from selenium.webdriver.common.by import By

    def ready(driver):
        found = driver.find_elements(By.ID, element_id)
        return found[0] if found and found[0].is_displayed() and found[0].is_enabled() else None

    return wait_for(driver, ready, f"#{element_id} to be usable")


def set_viewport(driver, width: int, height: int) -> None:
    """Emulates a device viewport of exactly width x height CSS pixels (scale 1)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def assert_fits(driver, screenshot: Path) -> None:
    """Screenshot at the current viewport, and no horizontal overflow at that width."""
    width = driver.execute_script("return window.innerWidth")
    assert driver.save_screenshot(os.fspath(screenshot)), "screenshot failed"
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    png_width, png_height = struct.unpack(">II", data[16:24])
    assert (png_width, png_height) == PHONE, f"screenshot is {png_width}x{png_height}, not the phone viewport"
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width == PHONE[0] and scroll_width <= PHONE[0], (
        f"the page overflows horizontally at {PHONE[0]} px: scrollWidth {scroll_width} (see {screenshot})")


def assert_nothing_external(driver, base_url: str) -> None:
    """Every resource the page loaded came from the server itself (or was inline data)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
        ".concat(Array.from(document.querySelectorAll('[src],link[href]'), node => node.src || node.href))")
    external = [url for url in loaded if not url.startswith((origin + "/", "data:", "blob:"))]
    assert not external, f"the page loads resources from other origins: {external}"


def console_errors(driver) -> list[str]:
    """Severe browser console messages (a missing favicon does not count)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def choose(select_element, value: str) -> None:
    """Selects the option whose value (the DOM property: the text when there is no value attribute) is ``value``."""
    from selenium.webdriver.support.ui import Select

    select = Select(select_element)
    values = [option.get_property("value") for option in select.options]
    assert value in values, f"no option {value!r} in #{select_element.get_attribute('id')}: {values}"
    select.select_by_index(values.index(value))


def choose_regions(driver, regions: list[str]) -> None:
    """Picks regions in a `regions` multi-select or in checkboxes named `regions`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    selects = driver.find_elements(By.CSS_SELECTOR, "select#regions")
    if selects:
        assert Select(selects[0]).is_multiple, "#regions must be a multi-select"
        for region in regions:
            choose(selects[0], region)
        return
    for region in regions:
        boxes = driver.find_elements(By.CSS_SELECTOR, f'input[type="checkbox"][name="regions"][value="{region}"]')
        assert boxes, f"no #regions multi-select and no checkbox named regions for {region!r}"
        if not boxes[0].is_selected():
            # A styled checkbox may be visually hidden: then its label is what a person clicks.
            target = boxes[0] if boxes[0].is_displayed() else boxes[0].find_element(By.XPATH, "ancestor::label")
            target.click()
        assert boxes[0].is_selected(), f"could not tick the {region!r} checkbox"


def recent_items(driver) -> dict[str, str]:
    """The #recent list as {data-event-id: text}, read in one go (the page may re-render it any time)."""
    items = driver.execute_script(
        "return Array.from(document.querySelectorAll('#recent li'),"
        " item => [item.getAttribute('data-event-id') || '', item.textContent])")
    return {event_id: text for event_id, text in items}


def test_editor_publishes_a_breaking_line(newsalert_server, browser, seed_page, tmp_path):
    server, driver = newsalert_server, browser
    headline = seed_page.breaking[0]

    # The signed-out page fits a phone.
    set_viewport(driver, *PHONE)
    driver.get(server.url("/newsroom"))
    element(driver, "api-key")
    assert_fits(driver, tmp_path / "newsroom-signed-out-390x844.png")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # Sign in, then fill in and send the post form.
    element(driver, "api-key").send_keys(server.editor_key)
    element(driver, "sign-in").click()
    element(driver, "headline")
    before = recent_items(driver)
    element(driver, "headline").send_keys(headline)
    choose(element(driver, "kind"), "breaking")
    choose(element(driver, "section"), "Politics")
    choose_regions(driver, ["US & Canada", "MENA"])
    urgency = element(driver, "urgency")
    urgency.clear()
    urgency.send_keys("1")
    element(driver, "publish").click()

    # The new item shows up in the recent list, with its event id.
    def new_item(driver):
        return next((event_id for event_id, text in recent_items(driver).items()
                     if event_id and event_id not in before and headline in text), None)

    event_id = wait_for(driver, new_item, f"{headline!r} to appear in #recent")

    # The API has exactly what the form said.
    response = server.request("GET", f"/v1/events/{event_id}", key=server.editor_key)
    assert response.status_code == 200, response.text
    event = response.json()["event"]
    assert (event["headline"], event["kind"], event["section"], event["urgency"]) == (headline, "breaking", "Politics", 1)
    assert sorted(event["regions"]) == ["MENA", "US & Canada"]

    assert_nothing_external(driver, server.base_url)
    assert console_errors(driver) == []

    # The signed-in page, with its list, fits a phone too.
    set_viewport(driver, *PHONE)
    wait_for(driver, lambda driver: driver.execute_script("return window.innerWidth") == PHONE[0], "the phone viewport")
    assert_fits(driver, tmp_path / "newsroom-signed-in-390x844.png")
