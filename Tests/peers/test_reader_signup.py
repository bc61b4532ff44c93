"""Readers subscribe themselves: the /subscribe page, double opt-in through the mail, and the public signup's
abuse controls, against a real `newsalert serve`, a real mail server (aiosmtpd) and headless Chromium.

1. A reader signs up in the page at phone width (390x844, no horizontal overflow, nothing loaded from elsewhere,
   the browser's time zone kept), reads the confirmation mail aiosmtpd received, opens its link in the browser and
   presses Confirm; the next matching alert reaches the address. A second address signed up for the same keyword
   and never confirmed gets nothing but its confirmation mail: the sign that the event was processed for it too
   is that the confirmed reader and a witness (an address imported as confirmed) got the same alert.
2. 1,000 signups for one address from one client: at most one confirmation mail, 429 once the client is over its
   limit; answers for an unknown, a pending and a confirmed address are byte-for-byte the same; the honeypot is
   answered the same and stores nothing.
3. Every bad input of the public endpoints (bad email, unknown topic, oversized or malformed body, bad, tampered
   or expired link) gets a 4xx JSON answer naming the problem and changes nothing.
"""

from __future__ import annotations

import collections
import datetime
import json
import re
import urllib.parse
import uuid
import zoneinfo
from pathlib import Path
from typing import Iterator

import pytest
import requests

from conftest import NewsalertServer, call, describe, own_newsalert_server, post_event, wait_until
from test_email_delivery import (
    CONFIRM_SUBJECT, DELIVERY_TIMEOUT, IMPORTED_CONSENT, MailRelay, confirmation_link, parts, serve_args, unique_address,
    with_subject_prefix,
)
from test_newsroom_console import (  # noqa: F401 - `browser` is a fixture
    PHONE, assert_fits, assert_nothing_external, browser, console_errors, element, set_viewport, wait_for,
)

CLIENT_LIMIT = 30
EMAIL_LIMIT = 5
SIGNUP_ANSWER = {
    "status": "check_your_email",
    "message": "If this address can get alerts, a confirmation mail is on its way. Open its link within 24 hours to start getting them.",
}


@pytest.fixture(scope="module")
def relay() -> Iterator[MailRelay]:
    relay_ = MailRelay().start()
    yield relay_
    relay_.stop()


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory, relay: MailRelay) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("reader-signup"),
                              serve_args(relay.address) + ["--signup-rate-per-client", str(CLIENT_LIMIT),
                                                           "--signup-rate-per-email", str(EMAIL_LIMIT)]) as server_:
        yield server_


def keyword() -> str:
    """A word no other event carries, so a keyword rule matches only this test's events."""
    return "zq" + uuid.uuid4().hex[:10]


def signup(server: NewsalertServer, email: str, topics: dict, **extra) -> requests.Response:
    return requests.post(server.base_url.rstrip("/") + "/v1/signup", timeout=30,
                         json={"email": email, "time_zone": "UTC", "topics": topics, **extra})


def alerts_about(relay: MailRelay, address: str, event_id: str) -> list:
    return [mail for mail in relay.mails(address) if mail.accepted and mail.message_id.startswith(f"<{event_id}.")]


def witness(server: NewsalertServer, word: str) -> str:
    """An address the newsroom imported as confirmed, subscribed to ``word``: its alert shows an event was processed."""
    address = unique_address("witness")
    subscriber = call(server, "POST", "/v1/subscribers", server.admin_key, 201, json={"name": "witness", "time_zone": "UTC"})
    call(server, "POST", f"/v1/subscribers/{subscriber['subscriber_id']}/channels", server.admin_key, 201,
         json={"kind": "email", "address": address, "consent": IMPORTED_CONSENT})
    token = call(server, "POST", f"/v1/subscribers/{subscriber['subscriber_id']}/tokens", server.admin_key, 201)["token"]
    call(server, "POST", "/v1/subscriptions", token, 201, json={"rule": {"keywords": word}})
    return address


# --- 1. the page, the mail, the link ------------------------------------------------------------


def test_a_reader_signs_up_in_the_page_confirms_and_gets_the_next_alert(server, relay, browser, tmp_path):
    from selenium.webdriver.common.by import By

    word, reader, unconfirmed = keyword(), unique_address("reader"), unique_address("unconfirmed")
    witness_address = witness(server, word)
    assert signup(server, unconfirmed, {"keywords": word}).status_code == 202

    set_viewport(browser, *PHONE)
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Beirut"})
    browser.get(server.base_url.rstrip("/") + "/subscribe")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#sections input[value="Politics"]'), "the sections from the taxonomy")
    assert element(browser, "zone-shown").text == "Asia/Beirut"
    element(browser, "email").send_keys(reader)
    element(browser, "keywords").send_keys(word)
    browser.find_element(By.CSS_SELECTOR, 'input[name="delivery"][value="immediate"]').click()
    element(browser, "quiet").click()
    assert element(browser, "quiet-start").get_attribute("value") == "22:00"
    # Quiet hours that do not cover the next minutes in Beirut, so the alert is not held until morning.
    hour = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Beirut")).hour
    browser.execute_script("document.getElementById('quiet-start').value = arguments[0];"
                           "document.getElementById('quiet-end').value = arguments[1];",
                           f"{(hour + 2) % 24:02d}:00", f"{(hour + 3) % 24:02d}:00")
    assert_fits(browser, tmp_path / "subscribe-phone.png")
    element(browser, "submit").click()
    wait_for(browser, lambda d: "confirmation mail" in d.find_element(By.ID, "result").text, "the answer to the signup")
    assert_fits(browser, tmp_path / "subscribe-answered-phone.png")
    assert_nothing_external(browser, server.base_url)
    assert console_errors(browser) == []

    readers = [s for s in call(server, "GET", "/v1/subscribers?limit=1000", server.admin_key, 200)["subscribers"]
               if s["name"] == "reader" and s["time_zone"] == "Asia/Beirut"]
    assert len(readers) == 1, readers

    mails = relay.wait_for(reader, with_subject_prefix(CONFIRM_SUBJECT), "the confirmation mail", server)
    assert len(mails) == 1, [m.describe() for m in mails]
    browser.get(confirmation_link(server, mails[0]))
    assert reader in browser.find_element(By.TAG_NAME, "h1").text
    assert_fits(browser, tmp_path / "confirm-phone.png")
    element(browser, "confirm").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "confirmed"), "the confirmed page")

    event_id = post_event(server, f"Civil Defense: Crews respond to a fire at the {word} depot")
    wait_until(lambda: alerts_about(relay, reader, event_id) and alerts_about(relay, witness_address, event_id),
               timeout=DELIVERY_TIMEOUT, interval=0.1, message=f"the alert about {event_id} to the reader and the witness")
    assert len(alerts_about(relay, reader, event_id)) == 1
    # The unconfirmed address was matched against the same event: it got its confirmation mail and nothing else.
    assert [m.subject for m in relay.mails(unconfirmed)] == [CONFIRM_SUBJECT], [m.describe() for m in relay.mails(unconfirmed)]

    # The preference centre, from the link next to "Unsubscribe" in the alert: add a region, then erase everything.
    text, html = parts(alerts_about(relay, reader, event_id)[0])
    found = re.findall(r"^Preferences: (\S+)", text, re.MULTILINE)
    assert len(found) == 1 and ">Preferences</a>" in html, text
    preferences = urllib.parse.urlsplit(found[0])
    browser.get(server.base_url.rstrip("/") + preferences.path + "?" + preferences.query)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#regions input[value="MENA"]'), "the preference centre")
    assert reader in element(browser, "emails").text
    assert event_id and f"{word} depot" in element(browser, "recent-alerts").text
    browser.find_element(By.CSS_SELECTOR, '#regions input[value="MENA"]').click()
    element(browser, "save").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "saved").text == "Saved.", "the saved preferences")
    assert_fits(browser, tmp_path / "preferences-phone.png")
    assert_nothing_external(browser, server.base_url)
    region_event = post_event(server, "Lebanese Ministry of Health: Two injured in a strike on the outskirts of Aitaroun", regions=["MENA"])
    wait_until(lambda: alerts_about(relay, reader, region_event), timeout=DELIVERY_TIMEOUT, interval=0.1,
               message=f"the alert about {region_event} for the region added in the preference centre")

    element(browser, "erase-sure").click()
    element(browser, "erase").click()
    wait_for(browser, lambda d: "deleted" in d.find_element(By.ID, "erased").text, "the erasure")
    assert console_errors(browser) == []
    last_id = post_event(server, f"Sudanese Doctors Network: A field clinic opens in Omdurman, named {word} by its volunteers")
    wait_until(lambda: alerts_about(relay, witness_address, last_id), timeout=DELIVERY_TIMEOUT, interval=0.1,
               message=f"the alert about {last_id} to the witness")
    assert alerts_about(relay, reader, last_id) == [], "an erased reader got an alert"
    assert not [s for s in call(server, "GET", "/v1/subscribers?limit=1000", server.admin_key, 200)["subscribers"]
                if s["time_zone"] == "Asia/Beirut"], "the erased reader is still listed"


# --- 2. abuse ------------------------------------------------------------------------------------


def counter(server: NewsalertServer, name: str, outcome: str) -> float:
    """The value of ``name{outcome="…"}`` on the server's /metrics (0 when not reported yet)."""
    text = requests.get(server.base_url.rstrip("/") + "/metrics", timeout=30).text
    match = re.search(rf'^{name}\{{outcome="{outcome}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_a_thousand_signups_for_one_address_send_one_confirmation_mail(relay, newsalert_bin, tmp_path):
    """From one client (a server of its own, so no other test's signups count): the first CLIENT_LIMIT get the usual
    answer, the rest 429. Of those, EMAIL_LIMIT are acted on; the first queues the one confirmation mail the hour
    allows and the others are refused a mail: all of it counted on /metrics. The mailer's counter of sent mails is
    the sign that the queue was processed."""
    target = unique_address("target")
    with own_newsalert_server(newsalert_bin, tmp_path, serve_args(relay.address) + [
            "--signup-rate-per-client", str(CLIENT_LIMIT), "--signup-rate-per-email", str(EMAIL_LIMIT)]) as own:
        session = requests.Session()
        statuses: collections.Counter = collections.Counter()
        answers = set()
        for _ in range(1000):
            response = session.post(own.base_url.rstrip("/") + "/v1/signup", timeout=30,
                                    json={"email": target, "time_zone": "UTC", "topics": {"regions": ["MENA"]}})
            statuses[response.status_code] += 1
            if response.status_code == 202:
                answers.add(response.content)
            else:
                assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0, describe(response)
                assert response.json()["error"]["code"] == "rate_limited"
        assert statuses == {202: CLIENT_LIMIT, 429: 1000 - CLIENT_LIMIT}, statuses
        assert len(answers) == 1 and json.loads(answers.pop()) == SIGNUP_ANSWER
        wait_until(lambda: counter(own, "newsalert_signup_confirmations_total", "sent") >= 1, timeout=DELIVERY_TIMEOUT,
                   message="the mailer to send the confirmation")
        assert counter(own, "newsalert_signup_confirmations_total", "sent") == 1
        assert counter(own, "newsalert_signup_requests_total", "accepted") == 1
        assert counter(own, "newsalert_signup_requests_total", "confirmation_limited") == EMAIL_LIMIT - 1
        assert counter(own, "newsalert_signup_requests_total", "email_limited") == CLIENT_LIMIT - EMAIL_LIMIT
        assert counter(own, "newsalert_signup_requests_total", "client_limited") == 1000 - CLIENT_LIMIT
        mails = relay.mails(target)
        assert len(mails) == 1 and mails[0].subject == CONFIRM_SUBJECT, [m.describe() for m in mails]


def test_known_and_unknown_addresses_get_the_same_answer(server, relay):
    word = keyword()
    pending, confirmed, unknown = unique_address("pending"), unique_address("confirmed"), unique_address("unknown")
    assert signup(server, pending, {"keywords": word}).status_code == 202
    assert signup(server, confirmed, {"keywords": word}).status_code == 202
    mail = relay.wait_for(confirmed, with_subject_prefix(CONFIRM_SUBJECT), "the confirmation mail", server)[0]
    assert requests.post(confirmation_link(server, mail), timeout=30).status_code == 200
    answers = {}
    for label, address in (("pending", pending), ("confirmed", confirmed), ("unknown", unknown)):
        response = signup(server, address, {"keywords": word})
        answers[label] = (response.status_code, response.content, response.headers.get("Newsalert-Replication"),
                          response.headers.get("Content-Type"))
    assert len(set(answers.values())) == 1, answers
    assert answers["unknown"][0] == 202 and json.loads(answers["unknown"][1]) == SIGNUP_ANSWER

    # The honeypot: the same answer, and the address never hears from us.
    robot = unique_address("robot")
    trap = signup(server, robot, {"keywords": word}, website="http://spam.example")
    assert (trap.status_code, trap.content) == answers["unknown"][:2]
    # The sign that the trap was processed: its counter moved.
    assert counter(server, "newsalert_signup_requests_total", "honeypot") == 1
    later = unique_address("after-robot")
    assert signup(server, later, {"keywords": word}).status_code == 202
    relay.wait_for(later, with_subject_prefix(CONFIRM_SUBJECT), "the confirmation mail of a signup after the robot's", server)
    assert relay.mails(robot) == []


# --- 3. bad input ------------------------------------------------------------------------------


def test_bad_input_on_public_endpoints_is_4xx_and_changes_nothing(server, relay):
    base = server.base_url.rstrip("/")
    before = call(server, "GET", "/v1/subscribers?limit=1000", server.admin_key, 200)["subscribers"]
    cases = [
        ({"email": "not an address", "time_zone": "UTC", "topics": {"regions": ["MENA"]}}, 422, "email"),
        ({"email": "a@example.com", "time_zone": "UTC", "topics": {"sections": ["Gossip"]}}, 422, "topics.sections[0]"),
        ({"email": "a@example.com", "time_zone": "UTC", "topics": {"regions": ["Atlantis"]}}, 422, "topics.regions[0]"),
        ({"email": "a@example.com", "time_zone": "UTC", "topics": {}}, 422, "topics"),
        ({"email": "a@example.com", "time_zone": "Nowhere/Town", "topics": {"regions": ["MENA"]}}, 422, "time_zone"),
        ({"email": "a@example.com", "time_zone": "UTC", "topics": {"regions": ["MENA"]},
          "delivery": {"mode": "digest", "every": "weekly"}}, 422, "delivery.every"),
    ]
    for body, status, field in cases:
        response = requests.post(base + "/v1/signup", json=body, timeout=30)
        assert response.status_code == status, describe(response)
        assert field in [f["field"] for f in response.json()["error"]["fields"]], describe(response)
    oversized = requests.post(base + "/v1/signup", timeout=30, json={
        "email": "a@example.com", "time_zone": "UTC", "topics": {"keywords": "x" * 10_000}})
    assert oversized.status_code == 413 and oversized.json()["error"]["status"] == 413, describe(oversized)
    malformed = requests.post(base + "/v1/signup", data=b'{"email": ', headers={"Content-Type": "application/json"}, timeout=30)
    assert malformed.status_code == 400, describe(malformed)
    for link in ("/v1/confirm?channel=chn_nosuchchannel0000000&expires=4102444800&token=AAAA",
                 "/v1/confirm?channel=chn_nosuchchannel0000000", "/v1/confirm"):
        for method in ("GET", "POST"):
            response = requests.request(method, base + link, timeout=30)
            assert 400 <= response.status_code < 500 and response.json()["error"]["code"] == "bad_link", describe(response)
    assert call(server, "GET", "/v1/subscribers?limit=1000", server.admin_key, 200)["subscribers"] == before
