"""The newsroom console as an editor's desk: preview while typing, then send, in headless Chromium.

A fresh `newsalert serve` (allowed to deliver webhooks to 127.0.0.1, and mailing through an aiosmtpd relay)
has six subscribers: three whose rule matches the word `Kawnin` with a webhook channel on the receiver of
this module, two on `Kawnin` with an email channel, and one on `Damascus`. The first Kawnin line is posted
through the API and delivered. Then, in the page, an editor types the later Kawnin line: before anything
is sent the preview beside the form says "update of" the first line's story and shows that line, and
counts five subscribers and five channels alerted now (three webhooks, two emails). Sending it delivers
exactly those: three webhook updates and two update mails. Overrides chosen in the page
(section, urgency, "new story") are published and followed by the enrich stage.

The preview itself has no side effect: an invalid body is 422 naming the fields, and neither an
invalid nor a valid preview puts a record on `news.events` or claims its Idempotency-Key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from conftest import (
    CHANGELOG_TOPIC, NewsalertServer, TopicReader, call, describe, own_newsalert_server, stored_record_count,
    wait_until,
)
from test_newsroom_console import (  # noqa: F401 - `browser` is a fixture
    PHONE, assert_fits, assert_nothing_external, browser, choose, console_errors, element, recent_items, set_viewport,
    wait_for,
)
from test_email_delivery import MailRelay, new_subscriber as new_email_subscriber
from test_webhook_delivery import Receiver, alerts_of_event, new_subscriber

KAWNIN_TARGETS = "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin"
KAWNIN_MARTYRED = "Al Mayadeen's correspondent in South Lebanon: One martyred in the Israeli drone strike on a car in the town of Kawnin"
DELIVERY_TIMEOUT = 60.0
KAWNIN_PATHS = ["/desk/a", "/desk/b", "/desk/c"]
KAWNIN_MAILBOXES = ["kawnin-1@desk.example", "kawnin-2@desk.example"]


@pytest.fixture(scope="module")
def relay() -> Iterator[MailRelay]:
    relay_ = MailRelay().start()
    yield relay_
    relay_.stop()


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory, relay: MailRelay) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("newsroom-desk"),
                              ["--webhook-allow", "127.0.0.1/32", "--smtp-relay", relay.address, "--smtp-tls", "none",
                               "--mail-from", "News Desk <desk@news.example>"]) as server_:
        yield server_


def mails_of(relay: MailRelay, event_id: str) -> dict[str, object]:
    """Accepted mails about ``event_id`` (their Message-ID is `<event.channel@…>`), by recipient."""
    return {mail.rcpt_tos[0]: mail for mail in relay.mails() if mail.accepted and mail.message_id.startswith(f"<{event_id}.")}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver_ = Receiver()
    yield receiver_
    receiver_.close()


@pytest.fixture(scope="module")
def changelog(server: NewsalertServer) -> Iterator[TopicReader]:
    reader = TopicReader(server.bootstrap_servers, CHANGELOG_TOPIC)
    yield reader
    reader.close()


def enriched_story(server: NewsalertServer, event_id: str) -> str:
    """Waits until the enrich stage threaded ``event_id``; returns its story id."""
    def story():
        return call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200).get("story_id")
    found = wait_until(story, timeout=DELIVERY_TIMEOUT, interval=0.2)
    assert found, f"{event_id} was not enriched within {DELIVERY_TIMEOUT:.0f} s\n{server.process.describe()}"
    return found


def sign_in(driver, server: NewsalertServer) -> None:
    driver.get(server.url("/newsroom"))
    element(driver, "api-key").send_keys(server.editor_key)
    element(driver, "sign-in").click()
    element(driver, "headline")


def preview_state(driver) -> dict:
    """What the preview panel shows, read in one go."""
    return driver.execute_script("""
        const dedup = document.getElementById('preview-dedup');
        const audience = document.getElementById('preview-audience');
        const rows = {};
        for (const row of document.querySelectorAll('#preview-channels tbody tr')) {
          rows[row.dataset.channel] = Array.from(row.querySelectorAll('td'), cell => Number(cell.textContent));
        }
        return {
          shown: !document.getElementById('preview-result').hidden,
          status: document.getElementById('preview-status').textContent,
          decision: dedup.dataset.decision || '', story: dedup.dataset.storyId || '', verdict: dedup.textContent,
          lines: Array.from(document.querySelectorAll('#preview-story-lines li'), item => item.textContent),
          subscribers: Number(audience.dataset.subscribersNow), channels: Number(audience.dataset.channelsNow),
          rows, section: (document.querySelector('#preview-section .value') || {}).textContent || '',
          urgency: (document.querySelector('#preview-urgency .value') || {}).textContent || '',
        };""")


def new_event_id(driver, before: dict[str, str], headline: str):
    return next((event_id for event_id, text in recent_items(driver).items()
                 if event_id and event_id not in before and headline in text), None)


def test_preview_shows_the_update_and_its_audience_before_sending(server, receiver, relay, changelog, browser, tmp_path):
    driver = browser
    subscribers = [new_subscriber(server, receiver, changelog, f"kawnin-{index}", {"keywords": "Kawnin"}, [path])
                   for index, path in enumerate(KAWNIN_PATHS)]
    readers = [new_email_subscriber(server, relay, changelog, f"kawnin-mail-{index}", {"keywords": "Kawnin"}, [mailbox])
               for index, mailbox in enumerate(KAWNIN_MAILBOXES)]
    new_subscriber(server, receiver, changelog, "damascus", {"keywords": "Damascus"}, ["/desk/damascus"])

    first_id = call(server, "POST", "/v1/events", server.editor_key, 202, json={"kind": "breaking", "headline": KAWNIN_TARGETS})["id"]
    story_id = enriched_story(server, first_id)
    assert story_id == f"story-{first_id}"
    for path in KAWNIN_PATHS:
        receiver.wait_for(path, alerts_of_event(first_id, "alert"), DELIVERY_TIMEOUT, f"the alert about {first_id}", server)
    wait_until(lambda: len(mails_of(relay, first_id)) == len(KAWNIN_MAILBOXES), timeout=DELIVERY_TIMEOUT, interval=0.1,
               message=f"the mails about {first_id}")

    sign_in(driver, server)
    element(driver, "headline").send_keys(KAWNIN_MARTYRED)

    # Before sending: "update of" the story, with the earlier line, and the audience it would reach now.
    state = wait_for(driver, lambda d: (lambda s: s if s["shown"] and KAWNIN_MARTYRED in s["status"] and s["decision"] == "update" else None)(preview_state(d)),
                     "the preview to say 'update of' the Kawnin story")
    assert state["story"] == story_id
    assert state["verdict"].startswith(f"update of {story_id} (similarity "), state["verdict"]
    assert state["lines"] == [f"earlier: {KAWNIN_TARGETS}"], state["lines"]
    assert (state["subscribers"], state["channels"]) == (5, 5), state
    assert state["rows"] == {"webhook": [3, 0, 0, 0], "email": [2, 0, 0, 0], "ticker": [0, 0, 0, 0]}, state["rows"]
    assert call(server, "GET", "/v1/events?limit=200", server.editor_key, 200)["events"][0]["event"]["id"] == first_id, \
        "the preview published nothing"

    # The phone layout holds the preview too.
    set_viewport(driver, *PHONE)
    wait_for(driver, lambda d: d.execute_script("return window.innerWidth") == PHONE[0], "the phone viewport")
    assert_fits(driver, tmp_path / "newsroom-desk-preview-390x844.png")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # Sending it delivers exactly the previewed audience: one update per Kawnin channel.
    before = recent_items(driver)
    element(driver, "publish").click()
    update_id = wait_for(driver, lambda d: new_event_id(d, before, KAWNIN_MARTYRED), "the update to appear in #recent")
    for path in KAWNIN_PATHS:
        received = receiver.wait_for(path, alerts_of_event(update_id, "update"), DELIVERY_TIMEOUT, f"the update {update_id}", server)
        assert len(received) == 1, [request.summary() for request in received]
        assert received[0].alert["story"]["story_id"] == story_id
    mails = wait_until(lambda: (lambda found: found if len(found) == len(KAWNIN_MAILBOXES) else None)(mails_of(relay, update_id)),
                       timeout=DELIVERY_TIMEOUT, interval=0.1, message=f"the update mails about {update_id}")
    assert sorted(mails) == KAWNIN_MAILBOXES
    assert all(mail.subject == f"[UPDATE] {KAWNIN_MARTYRED}" for mail in mails.values()), [mail.subject for mail in mails.values()]
    counted = wait_until(lambda: (lambda view: view if view["alerts_delivered"] == 5 else None)(
        call(server, "GET", f"/v1/events/{update_id}", server.editor_key, 200)), timeout=DELIVERY_TIMEOUT, interval=0.2)
    assert counted, f"the delivery log of {update_id} did not reach 5 delivered alerts"
    assert counted["alerts_by_channel"] == {"webhook": 3, "email": 2}, counted["alerts_by_channel"]
    assert counted["story_id"] == story_id
    assert sum(len(alerts_of_event(update_id)(receiver.requests(path))) for path in [*KAWNIN_PATHS, "/desk/damascus"]) == 3
    assert len(subscribers) == 3 and len(readers) == 2
    assert len([mail for mail in relay.mails() if mail.message_id.startswith(f"<{update_id}.")]) == 2, "no mail twice"
    assert_nothing_external(driver, server.base_url)
    assert console_errors(driver) == []


def test_overrides_chosen_in_the_page_are_published_and_followed(server, browser):
    driver = browser
    headline = "Al Mayadeen's correspondent in South Lebanon: A second drone strike on a car in the town of Kawnin"
    sign_in(driver, server)
    element(driver, "headline").send_keys(headline)
    choose(element(driver, "section"), "Economy")
    urgency = element(driver, "urgency")
    urgency.clear()
    urgency.send_keys("2")
    choose(element(driver, "story-choice"), "new")
    state = wait_for(driver, lambda d: (lambda s: s if s["shown"] and headline in s["status"] and s["section"] == "Economy"
                                        and s["urgency"] == "2" and s["decision"] == "new_story" else None)(preview_state(d)),
                     "the preview to follow the overrides")
    assert state["verdict"] == "new story — the newsroom asked for a new story", state["verdict"]
    before = recent_items(driver)
    element(driver, "publish").click()
    event_id = wait_for(driver, lambda d: new_event_id(d, before, headline), "the item to appear in #recent")
    view = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
    assert (view["event"]["section"], view["event"]["urgency"], view["event"]["story_override"]) == ("Economy", 2, "new")
    assert enriched_story(server, event_id) == f"story-{event_id}", "the enrich stage started a new story as asked"
    view = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
    assert view["dedup"] == f"new #1 of story-{event_id}"
    assert (view["enrichment"]["section"], view["enrichment"]["urgency"]) == ("Economy", 2)
    assert console_errors(driver) == []


def test_preview_has_no_side_effect(server):
    records_before = stored_record_count(server.bootstrap_servers, "news.events")
    key = {"Idempotency-Key": "desk-preview-1"}
    invalid = server.request("POST", "/v1/events/preview", key=server.editor_key, headers=key,
                             json={"kind": "flash", "urgency": 0, "story_override": "later"})
    assert invalid.status_code == 422, describe(invalid)
    error = invalid.json()["error"]
    assert error["code"] == "invalid_fields"
    assert {field["field"] for field in error["fields"]} == {"kind", "headline", "urgency", "story_override"}, error
    valid = server.request("POST", "/v1/events/preview", key=server.editor_key, headers=key,
                           json={"kind": "breaking", "headline": "Explosion heard in central Damascus"})
    assert valid.status_code == 200, describe(valid)
    assert valid.json()["dedup"]["decision"] == "new_story"
    # The same key on a real post with another body is accepted: the previews claimed nothing.
    posted = server.request("POST", "/v1/events", key=server.editor_key, headers=key,
                            json={"kind": "breaking", "headline": "Sirens heard in the north"})
    assert posted.status_code == 202, describe(posted)
    assert posted.headers.get("Idempotent-Replayed") is None
    # Exactly one record more on news.events: the post's.
    assert wait_until(lambda: stored_record_count(server.bootstrap_servers, "news.events") >= records_before + 1, timeout=30)
    assert stored_record_count(server.bootstrap_servers, "news.events") == records_before + 1


def tab_to(driver, element_id: str, limit: int = 80) -> None:
    """Presses Tab until the element with this id has the focus (fails after ``limit`` presses)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if driver.execute_script("return document.activeElement && document.activeElement.id") == element_id:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    pytest.fail(f"#{element_id} was not reached with {limit} presses of Tab")


def test_the_desk_works_with_the_keyboard_alone(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = browser
    headline = "Al Mayadeen's correspondent: Rockets fired at the outskirts of Kiryat Shmona"
    driver.get(server.url("/newsroom"))
    driver.execute_script("sessionStorage.clear()")
    driver.get(server.url("/newsroom"))
    element(driver, "api-key")
    keys = lambda *text: ActionChains(driver).send_keys(*text).perform()  # noqa: E731
    tab_to(driver, "api-key")
    keys(server.editor_key, Keys.ENTER)
    element(driver, "headline")
    tab_to(driver, "headline")
    keys(headline)
    tab_to(driver, "urgency")
    keys("3")
    state = wait_for(driver, lambda d: (lambda s: s if s["shown"] and headline in s["status"] else None)(preview_state(d)),
                     "the preview of the typed line")
    assert state["urgency"] == "3"
    before = recent_items(driver)
    tab_to(driver, "publish")
    keys(Keys.ENTER)
    event_id = wait_for(driver, lambda d: new_event_id(d, before, headline), "the item to appear in #recent")
    story_id = enriched_story(server, event_id)
    wait_for(driver, lambda d: d.find_elements("css selector", f'#recent li[data-event-id="{event_id}"] button[data-story-id="{story_id}"]'),
             "the item's Story timeline button")
    focused = None
    for _ in range(200):
        focused = driver.execute_script("return document.activeElement && document.activeElement.dataset.storyId")
        if focused == story_id:
            break
        keys(Keys.TAB)
    assert focused == story_id, "the Story timeline button was not reached with Tab"
    keys(Keys.ENTER)
    wait_for(driver, lambda d: d.find_elements("css selector", f'#story-timeline li[data-event-id="{event_id}"]'), "the timeline opened by Enter")
    assert console_errors(driver) == []
