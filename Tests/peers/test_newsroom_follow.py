"""Follow what you sent, in headless Chromium: a FLASH's progress bar and the story timeline.

A fresh `newsalert serve` delivers webhooks to a receiver of this module. 1,000 subscribers, each with a
webhook channel and a rule on the word `Zabadani`, are created through the API; the preview of the FLASH
(which reads the node's subscription replica) counting 1,000 subscribers is the sign that fan-out knows
them all. An editor posts the FLASH in the page; its progress bar, fed by the delivery log read model,
reaches "delivered 1000/1000" with nothing failed, and the receiver got exactly 1,000 alerts of it. The
story timeline opened from the item shows the event with its alerts by channel, and follows a kill of it
live, without a reload.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from conftest import NewsalertServer, call, own_newsalert_server, wait_until
from test_newsroom_console import (  # noqa: F401 - `browser` is a fixture
    PHONE, assert_fits, browser, console_errors, element, recent_items, set_viewport, wait_for,
)
from test_webhook_delivery import Receiver, alerts_of_event

AUDIENCE = 1_000
HEADLINE = "FLASH: Explosions heard near Zabadani, west of Damascus"
DELIVERY_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("newsroom-follow"),
                              ["--webhook-allow", "127.0.0.1/32", "--webhook-rate", "5000", "--webhook-concurrency", "32"]) as server_:
        yield server_


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver_ = Receiver()
    yield receiver_
    receiver_.close()


def subscribe(server: NewsalertServer, receiver: Receiver, index: int) -> str:
    subscriber = call(server, "POST", "/v1/subscribers", server.admin_key, 201, json={"name": f"reader {index}", "time_zone": "UTC"})
    token = call(server, "POST", f"/v1/subscribers/{subscriber['subscriber_id']}/tokens", server.admin_key, 201)["token"]
    call(server, "POST", "/v1/channels", token, 201, json={"kind": "webhook", "url": receiver.url("/flash")})
    call(server, "POST", "/v1/subscriptions", token, 201, json={"name": "Zabadani", "rule": {"keywords": "Zabadani"}})
    return subscriber["subscriber_id"]


def progress_of(driver, event_id: str) -> dict | None:
    return driver.execute_script("""
        const box = document.querySelector(`#recent li[data-event-id="${arguments[0]}"] .progress`);
        return box ? {text: box.querySelector('[data-role=progress]').textContent, value: box.querySelector('progress').value,
                      max: box.querySelector('progress').max} : null;""", event_id)


def test_a_flash_progress_bar_reaches_every_subscriber_and_the_story_timeline_follows(server, receiver, browser, tmp_path):
    driver = browser
    with ThreadPoolExecutor(max_workers=16) as pool:
        subscribers = list(pool.map(lambda index: subscribe(server, receiver, index), range(AUDIENCE)))
    assert len(set(subscribers)) == AUDIENCE

    # The preview counts the whole audience once the node's replica has every subscription.
    body = {"kind": "breaking", "headline": HEADLINE, "urgency": 1}
    audience = wait_until(lambda: (lambda answer: answer if answer["subscribers_now"] == AUDIENCE else None)(
        call(server, "POST", "/v1/events/preview", server.editor_key, 200, json=body)["audience"]), timeout=120, interval=0.5,
        message=f"the preview to count {AUDIENCE} subscribers")
    assert audience["by_channel"]["webhook"] == {"now": AUDIENCE, "held_quiet_hours": 0, "held_digest": 0, "dropped_budget": 0}

    driver.get(server.url("/newsroom"))
    element(driver, "api-key").send_keys(server.editor_key)
    element(driver, "sign-in").click()
    before = recent_items(driver)
    element(driver, "headline").send_keys(HEADLINE)
    urgency = element(driver, "urgency")
    urgency.clear()
    urgency.send_keys("1")
    element(driver, "publish").click()
    posted_at = time.monotonic()
    event_id = wait_for(driver, lambda d: next((i for i, text in recent_items(d).items() if i and i not in before and HEADLINE in text), None),
                        "the FLASH in #recent")

    # The bar follows the delivery log until every alert is delivered.
    seen: list[str] = []

    def done():
        progress = progress_of(driver, event_id)
        if progress and (not seen or seen[-1] != progress["text"]):
            seen.append(progress["text"])
        return progress if progress and f"delivered {AUDIENCE}/{AUDIENCE}" in progress["text"] else None

    final = wait_until(done, timeout=DELIVERY_TIMEOUT, interval=0.2, message=f"'delivered {AUDIENCE}/{AUDIENCE}' on the FLASH's bar")
    print(f"FLASH to {AUDIENCE} webhook subscribers: 'delivered {AUDIENCE}/{AUDIENCE}' on the page {time.monotonic() - posted_at:.1f} s after Publish")
    assert final["text"].startswith(f"planned {AUDIENCE} · on the channel topics {AUDIENCE} · delivered {AUDIENCE}/{AUDIENCE} · failed 0"), final
    assert (final["value"], final["max"]) == (AUDIENCE, AUDIENCE)
    delivered = {request.webhook_id for request in alerts_of_event(event_id)(receiver.requests("/flash"))}
    assert len(delivered) == AUDIENCE, f"the receiver got {len(delivered)} distinct alerts of the FLASH"
    view = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
    assert view["progress"]["delivered"] == AUDIENCE and view["alerts_by_channel"] == {"webhook": AUDIENCE}
    counts = [int(match.group(1)) for text in seen for match in [re.search(r"delivered (\d+)/", text)] if match]
    assert counts == sorted(counts), f"the bar went backwards: {seen}"

    # The story timeline, opened from the item, shows the event and its alerts, and follows a kill live.
    story_id = view["story_id"]
    driver.find_element("css selector", f'#recent li[data-event-id="{event_id}"] button[data-story-id="{story_id}"]').click()
    timeline = wait_for(driver, lambda d: d.find_elements("css selector", f'#story-timeline li[data-event-id="{event_id}"]'), "the timeline")
    assert f"webhook: {AUDIENCE} delivered" in timeline[0].text, timeline[0].text
    kill_id = call(server, "POST", f"/v1/events/{event_id}/kill", server.editor_key, 202, json={"reason": "the explosions were a drill"})["id"]
    killed = wait_for(driver, lambda d: d.find_elements("css selector", f'#story-timeline li[data-event-id="{kill_id}"]'), "the kill in the open timeline")
    assert f"KILL of {event_id}: the explosions were a drill" in killed[0].text, killed[0].text
    # The timeline has an address of its own: opened directly, it shows the story after sign-in.
    assert driver.current_url.endswith(f"/newsroom#story={story_id}"), driver.current_url
    driver.get(server.url(f"/newsroom#story={story_id}"))
    driver.refresh()
    linked = wait_for(driver, lambda d: d.find_elements("css selector", f'#story-timeline li[data-event-id="{kill_id}"]'), "the linked timeline")
    assert "KILL of" in linked[0].text
    retractions = wait_until(lambda: (lambda found: found if len(found) >= AUDIENCE else None)(
        {request.webhook_id for request in alerts_of_event(kill_id)(receiver.requests("/flash"))}), timeout=DELIVERY_TIMEOUT, interval=0.2,
        message="the retractions")
    assert len(retractions) == AUDIENCE

    set_viewport(driver, *PHONE)
    wait_for(driver, lambda d: d.execute_script("return window.innerWidth") == PHONE[0], "the phone viewport")
    assert_fits(driver, tmp_path / "newsroom-follow-390x844.png")
    assert console_errors(driver) == []
