"""FLASH approval and embargoes through the newsroom console, in headless Chromium.

FLASH: with two editor keys, a FLASH posted in the page by editor A is held (`pending_approval`), not
published; A's page offers no Approve (only Withdraw) and the API refuses A's approval with 409 `own_item`.
Editor B signs in, sees "needs your approval" and approves it in the page: it is published, and the
decision is recorded with B's display name.

Embargo: an item posted in the page with an embargo a little ahead is held (`scheduled`, with a countdown),
not on `news.events`; `newsalert serve` is stopped and started again on the same data directory in between;
the item then appears on the BREAKING page (`/`) at or after its time, never before.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import NewsalertServer, call, describe, error_code, own_newsalert_server, run_command, wait_until
from test_newsroom_console import (  # noqa: F401 - `browser` is a fixture
    PHONE, assert_fits, browser, console_errors, element, recent_items, set_viewport, wait_for,
)

EMBARGO_SECONDS = 25  # long enough for a restart of `serve` before the item is due


def create_named_key(newsalert_bin: Path, server: NewsalertServer, name: str) -> str:
    result = run_command([newsalert_bin, "keys", "create", "--role", "editor", "--name", name, "--data-dir", server.data_dir], check=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()][-1]


def sign_in(driver, server: NewsalertServer, key: str) -> None:
    driver.get(server.url("/newsroom"))
    driver.execute_script("sessionStorage.clear()")
    driver.get(server.url("/newsroom"))
    element(driver, "api-key").send_keys(key)
    element(driver, "sign-in").click()
    element(driver, "headline")


def held_items(driver) -> dict[str, dict]:
    """The #held list as {event id: {state, text, actions}}, read in one go."""
    return driver.execute_script("""
        const items = {};
        for (const item of document.querySelectorAll('#held li')) {
          items[item.dataset.eventId] = {state: item.dataset.state, text: item.textContent,
            actions: Array.from(item.querySelectorAll('button'), button => button.dataset.action)};
        }
        return items;""")


def held_item(driver, headline: str, state: str):
    def found(driver):
        return next(((event_id, item) for event_id, item in held_items(driver).items()
                     if headline in item["text"] and item["state"] == state), None)
    return wait_for(driver, found, f"{headline!r} to be {state} in #held")


def publish_from_page(driver, headline: str, urgency: str | None = None, hold: str | None = None) -> str:
    """Types and publishes a line; with ``hold``, first waits for the preview to announce that hold."""
    element(driver, "headline").send_keys(headline)
    if urgency:
        field = element(driver, "urgency")
        field.clear()
        field.send_keys(urgency)
    if hold:
        wait_for(driver, lambda d: d.execute_script(
            "return document.getElementById('preview-status').textContent.includes(arguments[0])"
            " && document.getElementById('preview-hold').dataset.state === arguments[1]", headline, hold),
            f"the preview to announce {hold}")
    element(driver, "publish").click()
    return wait_for(driver, lambda d: (lambda text: text if text and "…" not in text else None)(
        element(d, "publish-status").text), "the post to be answered")


def test_a_flash_waits_for_a_second_editor(newsalert_bin, browser, tmp_path):
    driver = browser
    headline = "FLASH: Explosion heard in central Damascus"
    (tmp_path / "flash").mkdir()
    with own_newsalert_server(newsalert_bin, tmp_path / "flash") as server:
        second_key = create_named_key(newsalert_bin, server, "Rana (night desk)")

        sign_in(driver, server, server.editor_key)
        status = publish_from_page(driver, headline, urgency="1", hold="pending_approval")
        assert "held: waiting for a second editor" in status, status
        event_id, item = held_item(driver, headline, "pending_approval")
        assert "waiting for a second editor" in item["text"], item
        assert item["actions"] == ["cancel"], f"the requester is offered {item['actions']}, not only Withdraw"
        assert server.request("GET", f"/v1/events/{event_id}", key=server.editor_key).status_code == 404, "published before approval"
        own = server.request("POST", f"/v1/events/{event_id}/approve", key=server.editor_key)
        assert own.status_code == 409 and error_code(own) == "own_item", describe(own)

        # Editor B approves it in the page.
        sign_in(driver, server, second_key)
        event_id_b, item_b = held_item(driver, headline, "pending_approval")
        assert event_id_b == event_id
        assert "needs your approval" in item_b["text"] and item_b["actions"] == ["approve", "reject"], item_b
        set_viewport(driver, *PHONE)
        wait_for(driver, lambda d: d.execute_script("return window.innerWidth") == PHONE[0], "the phone viewport")
        assert_fits(driver, tmp_path / "newsroom-held-390x844.png")
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.find_element("css selector", f'#held li[data-event-id="{event_id}"] button[data-action="approve"]').click()
        held_item(driver, headline, "published")
        wait_for(driver, lambda d: event_id in recent_items(d), f"{event_id} to appear in #recent")

        view = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
        assert (view["event"]["headline"], view["event"]["urgency"]) == (headline, 1)
        held = next(h for h in call(server, "GET", "/v1/held-events", server.editor_key, 200)["held"] if h["event"]["id"] == event_id)
        assert (held["state"], held["decision"], held["decided_by_name"]) == ("published", "approved", "Rana (night desk)"), held
        assert held["requested_by_you"] is True and held["decided_at"] >= held["requested_at"]
        assert console_errors(driver) == []


def test_an_embargoed_item_appears_on_the_ticker_only_after_its_time_across_a_restart(newsalert_bin, browser, tmp_path):
    driver = browser
    headline = "Budget speech: the finance minister announces the new tax bands"
    workdir = tmp_path / "embargo"
    workdir.mkdir()
    with own_newsalert_server(newsalert_bin, workdir) as server:
        sign_in(driver, server, server.editor_key)
        # The embargo time in the browser's own clock, as the datetime-local field takes it.
        publish_at_ms = driver.execute_script("""
            const at = new Date(Date.now() + arguments[0] * 1000);
            at.setMilliseconds(0);
            const pad = n => String(n).padStart(2, '0');
            const field = document.getElementById('publish-at');
            field.value = at.getFullYear() + '-' + pad(at.getMonth() + 1) + '-' + pad(at.getDate()) + 'T' +
                          pad(at.getHours()) + ':' + pad(at.getMinutes()) + ':' + pad(at.getSeconds());
            field.dispatchEvent(new Event('input', {bubbles: true}));
            return at.getTime();""", EMBARGO_SECONDS)
        publish_at = publish_at_ms / 1000
        status = publish_from_page(driver, headline, hold="scheduled")
        assert status.startswith("Embargoed "), status
        event_id, item = held_item(driver, headline, "scheduled")
        assert "publishes in" in item["text"], item
        assert server.request("GET", f"/v1/events/{event_id}", key=server.editor_key).status_code == 404
        held = next(h for h in call(server, "GET", "/v1/held-events", server.editor_key, 200)["held"] if h["event"]["id"] == event_id)
        assert abs(datetime.fromisoformat(held["publish_at"].replace("Z", "+00:00")).timestamp() - publish_at) < 0.001, held
        # Leave the page before its server stops (its polls would fail), and check what it logged so far.
        driver.get("about:blank")
        assert console_errors(driver) == []

    assert time.time() < publish_at, "the restart began after the embargo ended: raise EMBARGO_SECONDS"
    with own_newsalert_server(newsalert_bin, workdir) as server:
        held = next(h for h in call(server, "GET", "/v1/held-events", server.editor_key, 200)["held"] if h["event"]["id"] == event_id)
        assert held["state"] in ("scheduled", "published"), held
        driver.get(server.url("/"))

        def on_ticker(driver):
            texts = driver.execute_script("return Array.from(document.querySelectorAll('#ticker li'), li => li.textContent)")
            return time.time() if any(headline in text for text in texts) else None

        seen_at = wait_until(lambda: on_ticker(driver), timeout=EMBARGO_SECONDS + 30, interval=0.1,
                             message=f"{headline!r} on the BREAKING page")
        assert seen_at >= publish_at, f"on the ticker {publish_at - seen_at:.1f} s before its embargo"
        view = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
        assert datetime.fromisoformat(view["event"]["published_at"].replace("Z", "+00:00")).timestamp() == pytest.approx(publish_at, abs=0.001)
        held = next(h for h in call(server, "GET", "/v1/held-events", server.editor_key, 200)["held"] if h["event"]["id"] == event_id)
        assert held["state"] == "published"
        assert datetime.fromisoformat(held["published_at"].replace("Z", "+00:00")).timestamp() >= publish_at
        assert console_errors(driver) == []


def test_an_admin_creates_and_revokes_an_editor_key_in_the_page(newsalert_bin, browser, tmp_path):
    driver = browser
    (tmp_path / "keys").mkdir()
    with own_newsalert_server(newsalert_bin, tmp_path / "keys") as server:
        # An editor sees no key management.
        sign_in(driver, server, server.editor_key)
        wait_for(driver, lambda d: element(d, "signed-in-as").text.endswith("(editor)"), "the editor's name in the bar")
        assert not driver.find_element("id", "keys-panel").is_displayed()

        sign_in(driver, server, server.admin_key)
        element(driver, "key-name").send_keys("Sam (weekend desk)")
        element(driver, "create-key").click()
        secret = wait_for(driver, lambda d: (lambda text: text if text.startswith("nak_") else None)(element(d, "new-key-secret").text),
                          "the new key's secret")
        keys = call(server, "GET", "/v1/keys", server.admin_key, 200)["keys"]
        created = next(key for key in keys if key.get("display_name") == "Sam (weekend desk)")
        assert created["role"] == "editor" and "revoked_at" not in created and secret not in str(keys)
        listed = wait_for(driver, lambda d: d.find_elements("css selector", f'#keys li[data-key-id="{created["id"]}"]'), "the key in the list")
        assert "Sam (weekend desk)" in listed[0].text
        me = call(server, "GET", "/v1/me", secret, 200)
        assert (me["display_name"], me["role"]) == ("Sam (weekend desk)", "editor")

        # Shown once: a reload of the page does not show it again.
        driver.refresh()
        element(driver, "keys-panel")
        assert driver.find_element("id", "new-key-secret").text == ""

        # Revoked from the page: the key stops working at once.
        driver.find_element("css selector", f'#keys li[data-key-id="{created["id"]}"] button').click()
        driver.switch_to.alert.accept()
        wait_for(driver, lambda d: d.find_elements("css selector", f'#keys li[data-key-id="{created["id"]}"][data-revoked="true"]'),
                 "the key to show as revoked")
        assert server.request("GET", "/v1/me", key=secret).status_code == 401
        assert console_errors(driver) == []


def test_expired_approvals_and_bad_embargo_times_are_refused(newsalert_bin, tmp_path):
    (tmp_path / "expiry").mkdir()
    with own_newsalert_server(newsalert_bin, tmp_path / "expiry", ["--approval-window", "2"]) as server:
        second_key = create_named_key(newsalert_bin, server, "Second editor")
        held = call(server, "POST", "/v1/events", server.editor_key, 202,
                    json={"kind": "breaking", "headline": "FLASH: Sirens across the north", "urgency": 1})
        assert held["status"] == "pending_approval", held

        def expired():
            items = call(server, "GET", "/v1/held-events", second_key, 200)["held"]
            return next((item for item in items if item["event"]["id"] == held["id"] and item["state"] == "expired"), None)

        item = wait_until(expired, timeout=30, interval=0.2, message="the FLASH to expire unapproved")
        assert item["decision"] == "expired" and item["decided_at"] == item["expires_at"], item
        refused = server.request("POST", f"/v1/events/{held['id']}/approve", key=second_key)
        assert refused.status_code == 409 and error_code(refused) == "approval_expired", describe(refused)
        assert "approval window closed at" in refused.json()["error"]["message"]
        assert server.request("GET", f"/v1/events/{held['id']}", key=server.editor_key).status_code == 404, "an expired FLASH is never published"

        now = datetime.now(timezone.utc)
        for when, problem in ((now.replace(year=now.year - 1), "is not in the future"),
                              (datetime.fromtimestamp(now.timestamp() + 31 * 86_400, timezone.utc), "is more than 30 days ahead")):
            answer = server.request("POST", "/v1/events", key=server.editor_key,
                                    json={"kind": "breaking", "headline": "Embargoed line", "publish_at": when.isoformat().replace("+00:00", "Z")})
            assert answer.status_code == 422, describe(answer)
            fields = answer.json()["error"]["fields"]
            assert [field["field"] for field in fields] == ["publish_at"] and fields[0]["problem"].startswith(problem), fields
