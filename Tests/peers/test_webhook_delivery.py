"""Webhook delivery end to end, as a receiver that follows Standard Webhooks sees it.

A fresh `newsalert serve` (its own embedded cluster and data directory) delivers alerts to an HTTP
receiver running in this process. The receiver records every request (headers and raw body) and
answers per path from a script: a sequence of statuses (500, 500, 200), 410, a 302 redirect, or a
pause longer than the server's `--webhook-timeout`. Every request is checked with the reference
verifier (`standardwebhooks.Webhook(secret).verify`) and every body against
schemas/alert.schema.json.

Covered: signatures (with a tampered body as negative control), story threading into `alert`,
`update` and `retraction` alerts (and no alert for an exact repeat), retries that keep the
webhook-id, 410 disabling the channel, redirects not followed, secret rotation signing with both
secrets, and a dead delivery parked on `news.deadletter` and replayed.

Each test has its own subscriber, channel and receiver path, and a rule that matches only its own
events (a unique tag, or for the story test the word `Kawnin`), so the tests do not see each
other's alerts. Every wait is bounded; the consumer groups' first joins take a few seconds.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import (
    CHANGELOG_TOPIC, NewsalertServer, TopicReader, call, describe, load_schema, own_newsalert_server, post_event, schema_errors,
    unique_tag, wait_for_changelog, wait_for_received,
)

CHANGELOG, DEADLETTER = CHANGELOG_TOPIC, "news.deadletter"
# --retry-delays 0,1,1,1: four attempts in all, about three seconds (±20 % jitter) from first to last.
RETRY_DELAYS = "0,1,1,1"
MAX_ATTEMPTS = len(RETRY_DELAYS.split(","))
WEBHOOK_TIMEOUT = 2.0
# From POST /v1/events to the receiver: enrich, fan-out and delivery each read Kafka, and their
# consumer groups' first joins take a few seconds each.
DELIVERY_TIMEOUT = 60.0
KAFKA_TIMEOUT = 30.0

# Two seed BREAKING lines of one story (see test_enrich_pipeline.py): the older line starts it.
KAWNIN_TARGETS = "Israeli drone targets a car in the town of Kawnin"
KAWNIN_MARTYRED = "One martyred in the Israeli drone strike on a car in the town of Kawnin"

ALERT_VALIDATOR = Draft202012Validator(load_schema("alert.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER)
DEADLETTER_VALIDATOR = Draft202012Validator(load_schema("deadletter.schema.json"),
                                            format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- the receiver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, optionally after a pause and with extra headers."""

    status: int = 200
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status=status, headers=(("Location", location),))


@dataclass
class Received:
    """One request the receiver got, as it came over the wire."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0  # what the receiver answered
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def alert(self) -> dict:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} headers={self.headers} body={self.body[:600]!r}"

    def summary(self) -> str:
        """Type, event, story and ids of the alert: enough to tell requests apart."""
        try:
            alert = self.alert
        except ValueError:
            return self.describe()
        return (f"{alert.get('type')} event={alert.get('event', {}).get('id')} story={alert.get('story')} "
                f"alert_id={alert.get('alert_id')} webhook-id={self.webhook_id} "
                f"webhook-timestamp={self.headers.get('webhook-timestamp')} at={self.at:.3f} answered {self.status}")


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every request; answers per path from a script
    (each request takes the next reply, the last one repeats; unscripted paths answer 200)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = receiver._next_reply(self.path)
                request.status = reply.status
                with receiver._lock:
                    receiver._requests.append(request)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting (timeout test)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, format, *args) -> None:  # noqa: A002 - keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply | int) -> None:
        with self._lock:
            self._scripts[path] = [reply if isinstance(reply, Reply) else Reply(reply) for reply in replies]

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            script = self._scripts.get(path)
            if not script:
                return Reply(200)
            return script.pop(0) if len(script) > 1 else script[0]

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self._requests if request.path == path]

    def wait_for(self, path: str, predicate: Callable[[list[Received]], object], timeout: float, message: str,
                 server: NewsalertServer | None = None):
        """Polls until ``predicate(requests to path)`` is truthy, which is returned; fails after ``timeout``."""
        return wait_for_received(lambda: self.requests(path), predicate, timeout, f"{message} at {path}", server)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alerts_of_event(event_id: str, alert_type: str | None = None) -> Callable[[list[Received]], list[Received]]:
    """Predicate: the requests whose alert is about ``event_id`` (and of ``alert_type``)."""
    def matching(received: list[Received]) -> list[Received]:
        return [request for request in received
                if request.alert["event"]["id"] == event_id and (alert_type is None or request.alert["type"] == alert_type)]
    return matching


# --- signatures --------------------------------------------------------------------------------


def verify(secret: str, request: Received, headers: dict[str, str] | None = None) -> dict:
    """The reference verifier: raises WebhookVerificationError unless a signature matches."""
    return Webhook(secret).verify(request.body, headers or request.headers)


def check_delivery(request: Received, secrets: list[str]) -> dict:
    """A webhook request: verified by standardwebhooks with every secret given, a valid alert whose
    alert_id is the webhook-id. Returns the alert."""
    for secret in secrets:
        try:
            verify(secret, request)
        except WebhookVerificationError as error:
            pytest.fail(f"standardwebhooks rejected the request with secret {secret[:10]}…: {error}\n{request.describe()}")
    alert = request.alert
    assert schema_errors(ALERT_VALIDATOR, alert) == [], f"invalid alert: {request.describe()}"
    assert request.headers.get("content-type", "").startswith("application/json"), request.describe()
    assert request.webhook_id == alert["alert_id"], f"webhook-id is not the alert_id: {request.describe()}"
    return alert


# --- the server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    """A fresh `newsalert serve` that may deliver to 127.0.0.1, retries fast and times out in 2 s."""
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("webhook-delivery"),
                              ["--webhook-allow", "127.0.0.1/32", "--retry-delays", RETRY_DELAYS,
                               "--webhook-timeout", f"{WEBHOOK_TIMEOUT:g}"]) as server_:
        yield server_


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def changelog(server: NewsalertServer) -> Iterator[TopicReader]:
    reader = TopicReader(server.bootstrap_servers, CHANGELOG)
    yield reader
    reader.close()


@dataclass
class Subscriber:
    """A subscriber with a token, one webhook channel per receiver path, and one subscription."""

    id: str
    token: str
    channels: dict[str, dict] = field(default_factory=dict)  # receiver path -> POST /v1/channels answer

    def channel(self, path: str) -> dict:
        return self.channels[path]


def new_subscriber(server: NewsalertServer, receiver: Receiver, changelog: TopicReader, name: str, rule: dict,
                   paths: list[str]) -> Subscriber:
    """Admin creates a subscriber and a token; with the token: a webhook channel per path, then a subscription."""
    subscriber = call(server, "POST", "/v1/subscribers", server.admin_key, 201,
                      json={"name": f"{name} desk", "time_zone": "UTC"})
    subscriber_id = subscriber["subscriber_id"]
    token = call(server, "POST", f"/v1/subscribers/{subscriber_id}/tokens", server.admin_key, 201)["token"]
    assert token.startswith("nst_"), token
    result = Subscriber(subscriber_id, token)
    for path in paths:
        channel = call(server, "POST", "/v1/channels", token, 201, json={"kind": "webhook", "url": receiver.url(path)})
        assert channel["id"].startswith("chn_") and channel["secret"].startswith("whsec_"), channel
        result.channels[path] = channel
    subscription = call(server, "POST", "/v1/subscriptions", token, 201, json={"name": name, "rule": rule})
    for key in [subscriber_id, *(channel["id"] for channel in result.channels.values()), subscription["subscription_id"]]:
        wait_for_changelog(changelog, key)
    return result


def deliveries(server: NewsalertServer, subscriber: Subscriber) -> list[dict]:
    return call(server, "GET", f"/v1/deliveries?subscriber={subscriber.id}", server.admin_key, 200)["deliveries"]


def wait_for_delivery(server: NewsalertServer, subscriber: Subscriber, delivery_id: str, states: set[str],
                      timeout: float = DELIVERY_TIMEOUT) -> dict:
    """Polls the delivery log until delivery ``delivery_id`` is in one of ``states``."""
    last: list[dict] = []

    def reached():
        nonlocal last
        last = deliveries(server, subscriber)
        return next((d for d in last if d["id"] == delivery_id and d["state"] in states), None)

    deadline = time.monotonic() + timeout
    while True:
        found = reached()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"delivery {delivery_id} did not reach {sorted(states)} within {timeout:.0f} s; "
                        f"GET /v1/deliveries?subscriber={subscriber.id}: {json.dumps(last)[:3000]}")
        time.sleep(0.2)


def one_alert(receiver: Receiver, path: str, event_id: str, server: NewsalertServer, alert_type: str | None = None,
              count: int = 1) -> list[Received]:
    return receiver.wait_for(path, lambda received: (lambda found: found if len(found) >= count else None)(
        alerts_of_event(event_id, alert_type)(received)), DELIVERY_TIMEOUT,
        f"{count} {alert_type or 'alert'} request(s) about {event_id}", server)


def exactly_one(received: list[Received], what: str) -> Received:
    """The only request in ``received``; fails listing them all when there are more."""
    assert len(received) == 1, f"expected exactly one request for {what}, got {len(received)}:\n" + "\n".join(
        request.summary() for request in received)
    return received[0]


def check_requests_match_log(receiver: Receiver, path: str, delivery: dict) -> None:
    """Every request to ``path`` with the delivery's webhook-id is one attempt in the delivery log: as many
    requests as logged attempts, answered with the logged status codes, in order."""
    sent = [request for request in receiver.requests(path) if request.webhook_id == delivery["id"]]
    logged = [(attempt["attempt"], attempt.get("status_code")) for attempt in delivery["attempts"]]
    # An attempt that timed out has no status code in the log; the receiver's late answer does not count.
    answered = [request.status if status is not None else None for request, (_, status) in zip(sent, logged)]
    assert len(sent) == len(logged) and answered == [status for _, status in logged], (
        f"delivery {delivery['id']}: the receiver answered {len(sent)} request(s) with webhook-id {delivery['id']} "
        f"{[request.status for request in sent]}, the delivery log records {len(logged)} attempt(s) "
        f"(attempt, status_code) {logged}; requests:\n" + "\n".join(request.summary() for request in sent))
    assert [number for number, _ in logged] == list(range(1, len(logged) + 1)), logged


# --- 1. signatures -----------------------------------------------------------------------------


def test_signed_delivery_verifies_with_the_reference_library(server, receiver, changelog):
    path, tag = "/hook/signed", unique_tag("signed")
    subscriber = new_subscriber(server, receiver, changelog, "signed", {"tags": [tag]}, [path])
    secret = subscriber.channel(path)["secret"]
    event_id = post_event(server, "Lebanese Ministry of Health: Two injured in an Israeli strike on the outskirts of Aitaroun", [tag])

    request = exactly_one(one_alert(receiver, path, event_id, server), f"the alert about {event_id}")
    alert = check_delivery(request, [secret])
    assert request.method == "POST"
    assert alert["type"] == "alert", alert
    assert alert["channel"] == "webhook" and alert["channel_id"] == subscriber.channel(path)["id"], alert
    assert alert["subscriber_id"] == subscriber.id, alert
    assert alert["event"]["id"] == event_id and alert["story"]["sequence"] == 1, alert
    assert any(match["clause"] == "tags" for match in alert["matched"]), alert["matched"]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 1 and signatures[0].startswith("v1,"), request.headers["webhook-signature"]

    # Negative controls: the same verifier rejects a tampered body, another secret and a changed id.
    tampered = Received(request.method, request.path, request.headers,
                        request.body.replace(b"Aitaroun", b"Aitarouz", 1))
    assert tampered.body != request.body
    with pytest.raises(WebhookVerificationError):
        verify(secret, tampered)
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + base64.b64encode(os.urandom(32)).decode(), request)
    with pytest.raises(WebhookVerificationError):
        verify(secret, request, {**request.headers, "webhook-id": request.webhook_id + "x"})

    # Every request this path received verifies (there is exactly the one).
    for received in receiver.requests(path):
        check_delivery(received, [secret])
    delivery = wait_for_delivery(server, subscriber, alert["alert_id"], {"delivered"})
    assert [a["outcome"] for a in delivery["attempts"]] == ["delivered"], delivery
    assert delivery["attempts"][0]["status_code"] == 200, delivery
    check_requests_match_log(receiver, path, delivery)


# --- 2. stories: alert, update, repeat, retraction ---------------------------------------------


def test_story_update_and_retraction(server, receiver, changelog, seed_page):
    path = "/hook/story"
    subscriber = new_subscriber(server, receiver, changelog, "story", {"keywords": "Kawnin"}, [path])
    secret = subscriber.channel(path)["secret"]
    lines = {marker: next(line for line in seed_page.breaking if marker in line) for marker in (KAWNIN_TARGETS, KAWNIN_MARTYRED)}

    first_id = post_event(server, lines[KAWNIN_TARGETS])
    first = exactly_one(one_alert(receiver, path, first_id, server), f"the first line {first_id}")
    first_alert = check_delivery(first, [secret])
    assert first_alert["type"] == "alert", first_alert
    story_id = first_alert["story"]["story_id"]
    assert story_id == f"story-{first_id}" and first_alert["story"]["sequence"] == 1, first_alert["story"]

    update_id = post_event(server, lines[KAWNIN_MARTYRED])
    update = exactly_one(one_alert(receiver, path, update_id, server), f"the update {update_id}")
    update_alert = check_delivery(update, [secret])
    assert update_alert["type"] == "update", update_alert
    assert update_alert["story"]["story_id"] == story_id, update_alert["story"]
    assert update_alert["story"]["update_of"] == first_id, update_alert["story"]
    assert update_alert["story"]["sequence"] == 2, update_alert["story"]
    assert update.webhook_id != first.webhook_id

    # An exact repeat (no Idempotency-Key, so a new event id): enrich drops it as `duplicate (exact)` and
    # publishes nothing to news.enriched, so fan-out never sees it. Once GET shows that decision nothing
    # is on its way; the short wait below only guards against an alert made some other way, and the
    # retraction afterwards (a later event of the same subscriber) bounds it again: when the retraction
    # has arrived, any alert about the repeat would have had every chance to arrive too.
    before = len(receiver.requests(path))
    repeat_id = post_event(server, lines[KAWNIN_MARTYRED])
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while not (view := call(server, "GET", f"/v1/events/{repeat_id}", server.editor_key, 200)).get("dedup"):
        assert time.monotonic() < deadline, f"enrich did not decide about {repeat_id}: {view}"
        time.sleep(0.1)
    assert view["dedup"] == f"duplicate (exact) of {update_id}", view["dedup"]
    time.sleep(3.0)
    assert not alerts_of_event(repeat_id)(receiver.requests(path)), [r.summary() for r in receiver.requests(path)]
    assert len(receiver.requests(path)) == before, (
        f"after the exact repeat {repeat_id} (posted after update {update_id}) the receiver got more: "
        f"{[r.summary() for r in receiver.requests(path)]}")

    kill = call(server, "POST", f"/v1/events/{first_id}/kill", server.editor_key, 202,
                json={"reason": "the strike on Kawnin could not be confirmed"})
    kill_id = kill["id"]
    retraction_requests = receiver.wait_for(
        path, lambda received: [r for r in received if r.alert["type"] == "retraction"], DELIVERY_TIMEOUT,
        "a retraction", server)
    retraction = exactly_one(retraction_requests, f"the kill {kill_id}")
    retraction_alert = check_delivery(retraction, [secret])
    assert retraction_alert["story"]["story_id"] == story_id, retraction_alert["story"]
    assert retraction_alert["event"]["id"] == kill_id, retraction_alert["event"]
    assert retraction_alert["event"]["status"] == "canceled", retraction_alert["event"]
    assert retraction_alert["event"]["supersedes"] == first_id, retraction_alert["event"]

    received = receiver.requests(path)
    assert [r.alert["type"] for r in received] == ["alert", "update", "retraction"], [r.summary() for r in received]
    assert not alerts_of_event(repeat_id)(received)
    for request in received:
        check_delivery(request, [secret])
    for delivery in deliveries(server, subscriber):
        check_requests_match_log(receiver, path, delivery)


# --- 3. retries --------------------------------------------------------------------------------


def test_retries_keep_the_webhook_id(server, receiver, changelog):
    path, tag = "/hook/retry", unique_tag("retry")
    receiver.script(path, 500, 500, 200)
    subscriber = new_subscriber(server, receiver, changelog, "retry", {"tags": [tag]}, [path])
    secret = subscriber.channel(path)["secret"]
    event_id = post_event(server, "Iraqi Ministry of Electricity: Power restored in Basra after a grid failure", [tag])

    requests_ = one_alert(receiver, path, event_id, server, count=3)
    alert = check_delivery(requests_[0], [secret])
    delivery = wait_for_delivery(server, subscriber, alert["alert_id"], {"delivered", "dead", "failed"})
    received = receiver.requests(path)
    check_requests_match_log(receiver, path, delivery)
    assert [r.status for r in received] == [500, 500, 200], [r.summary() for r in received]
    assert {r.webhook_id for r in received} == {alert["alert_id"]}, [r.webhook_id for r in received]
    assert len({r.body for r in received}) == 1, "the retried bodies differ"
    for request in received:
        check_delivery(request, [secret])

    assert delivery["state"] == "delivered", delivery
    attempts = delivery["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3], attempts
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "delivered"], attempts
    assert [a["status_code"] for a in attempts] == [500, 500, 200], attempts
    assert delivery["alert"]["alert_id"] == alert["alert_id"], delivery["alert"]


# --- 4. 410 Gone -------------------------------------------------------------------------------


def test_gone_disables_the_channel(server, receiver, changelog):
    gone, witness, tag = "/hook/gone", "/hook/gone-witness", unique_tag("gone")
    receiver.script(gone, 410)
    subscriber = new_subscriber(server, receiver, changelog, "gone", {"tags": [tag]}, [gone, witness])
    channel_id = subscriber.channel(gone)["id"]
    event_id = post_event(server, "Yemeni Armed Forces: A ballistic missile launched toward the port of Umm al-Rashrash", [tag])

    request = one_alert(receiver, gone, event_id, server)[0]
    alert = check_delivery(request, [subscriber.channel(gone)["secret"]])
    delivery = wait_for_delivery(server, subscriber, alert["alert_id"], {"failed", "dead", "delivered"})
    assert delivery["state"] == "failed", delivery
    check_requests_match_log(receiver, gone, delivery)
    assert [(a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [("failed", 410)], delivery["attempts"]

    channels = {c["id"]: c for c in call(server, "GET", "/v1/channels", subscriber.token, 200)["channels"]}
    assert channels[channel_id]["status"] == "disabled", channels[channel_id]
    assert channels[channel_id]["disabled_reason"], channels[channel_id]
    assert channels[subscriber.channel(witness)["id"]]["status"] == "active", channels
    wait_for_changelog(changelog, channel_id, lambda value: value.get("status") == "disabled", "to disabled")

    # A later event: the witness channel of the same subscriber gets it, so fan-out has decided about
    # it; the disabled channel must get nothing.
    later_id = post_event(server, "Yemeni Armed Forces: Drones target a vital site in Yafa in occupied Palestine", [tag])
    one_alert(receiver, witness, later_id, server)
    assert receiver.requests(gone) == [request], "the disabled channel got more requests:\n" + "\n".join(
        r.summary() for r in receiver.requests(gone))
    for delivery in deliveries(server, subscriber):
        if delivery["alert"]["channel_id"] == subscriber.channel(witness)["id"]:
            check_requests_match_log(receiver, witness, delivery)
    later = [d for d in deliveries(server, subscriber) if d["alert"]["event"]["id"] == later_id]
    assert all(d["alert"]["channel_id"] != channel_id or d["state"] == "failed" for d in later), later


# --- 5. redirects ------------------------------------------------------------------------------


def test_redirect_is_not_followed(server, receiver, changelog):
    path, target, tag = "/hook/moved", "/hook/moved-target", unique_tag("moved")
    receiver.script(path, redirect(receiver.url(target)), 200)
    subscriber = new_subscriber(server, receiver, changelog, "moved", {"tags": [tag]}, [path])
    secret = subscriber.channel(path)["secret"]
    event_id = post_event(server, "Syrian Observatory: Clashes renewed in the countryside of Sweida", [tag])

    received = one_alert(receiver, path, event_id, server, count=2)
    alert = check_delivery(received[0], [secret])
    delivery = wait_for_delivery(server, subscriber, alert["alert_id"], {"delivered", "dead", "failed"})
    check_requests_match_log(receiver, path, delivery)
    assert [r.status for r in receiver.requests(path)] == [302, 200], [r.summary() for r in receiver.requests(path)]
    assert receiver.requests(target) == [], [r.describe() for r in receiver.requests(target)]
    attempts = delivery["attempts"]
    assert [(a["outcome"], a["status_code"]) for a in attempts] == [("retry", 302), ("delivered", 200)], attempts
    assert "redirect" in (attempts[0]["detail"] or ""), attempts[0]
    assert {r.webhook_id for r in receiver.requests(path)} == {alert["alert_id"]}


# --- 6. secret rotation ------------------------------------------------------------------------


def test_rotated_secret_signs_with_new_and_old(server, receiver, changelog):
    path, tag = "/hook/rotate", unique_tag("rotate")
    subscriber = new_subscriber(server, receiver, changelog, "rotate", {"tags": [tag]}, [path])
    channel = subscriber.channel(path)
    old_secret = channel["secret"]
    rotated = call(server, "POST", f"/v1/channels/{channel['id']}/rotate-secret", subscriber.token, 200)
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret, rotated
    wait_for_changelog(changelog, channel["id"], lambda value: value.get("version", 0) >= rotated["version"],
                       f"to version {rotated['version']}")

    event_id = post_event(server, "Iranian Foreign Ministry: Tehran will respond to any violation of its airspace", [tag])
    request = exactly_one(one_alert(receiver, path, event_id, server), f"the alert about {event_id}")
    check_delivery(request, [new_secret, old_secret])
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2, request.headers["webhook-signature"]
    # Each signature on its own: the first is the new secret's, the second the old one's.
    for signature, secret in zip(signatures, [new_secret, old_secret]):
        verify(secret, request, {**request.headers, "webhook-signature": signature})
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, request, {**request.headers, "webhook-signature": signatures[0]})


# --- 7. dead letters and replay ----------------------------------------------------------------


def test_dead_delivery_is_dead_lettered_and_replayed(server, receiver, changelog):
    path, tag = "/hook/dead", unique_tag("dead")
    receiver.script(path, 500)
    subscriber = new_subscriber(server, receiver, changelog, "dead", {"tags": [tag]}, [path])
    secret = subscriber.channel(path)["secret"]
    event_id = post_event(server, "Palestinian Red Crescent: Ambulance crews blocked at the entrance of Jenin camp", [tag])

    first = one_alert(receiver, path, event_id, server)[0]
    alert_id = check_delivery(first, [secret])["alert_id"]
    delivery = wait_for_delivery(server, subscriber, alert_id, {"dead", "failed", "delivered"})
    assert delivery["state"] == "dead", delivery
    check_requests_match_log(receiver, path, delivery)
    attempts = delivery["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry"] * MAX_ATTEMPTS, attempts
    assert [a["status_code"] for a in attempts] == [500] * MAX_ATTEMPTS, attempts
    assert len(receiver.requests(path)) == MAX_ATTEMPTS

    reader = TopicReader(server.bootstrap_servers, DEADLETTER)
    try:
        def parked(records):
            for key, value in records:
                try:
                    letter = json.loads(value)
                    original = json.loads(base64.b64decode(letter["original_value_base64"]))
                except (TypeError, ValueError, KeyError):
                    continue
                if original.get("alert_id") == alert_id:
                    return key, letter, original
            return None
        key, letter, original = reader.wait_for(parked, KAFKA_TIMEOUT, f"the dead letter of {alert_id}")
    finally:
        reader.close()
    assert schema_errors(DEADLETTER_VALIDATOR, letter) == [], letter
    assert letter["stage"] == "deliver-webhook", letter
    assert letter["reason"] and "500" in letter["reason"], letter
    assert letter["source_topic"] == "alerts.webhook", letter
    assert key == subscriber.id.encode(), key
    assert original == first.alert, (original, first.alert)

    receiver.script(path, 200)
    replay = call(server, "POST", f"/v1/deliveries/{alert_id}/replay", server.editor_key, 202)
    assert replay.get("id") == alert_id, replay
    receiver.wait_for(path, lambda received: [r for r in received if r.status == 200], DELIVERY_TIMEOUT,
                      "the replayed delivery", server)
    replayed = wait_for_delivery(server, subscriber, alert_id, {"delivered"})
    assert replayed["attempts"][-1]["outcome"] == "delivered" and replayed["attempts"][-1]["status_code"] == 200, replayed
    check_requests_match_log(receiver, path, replayed)
    received = receiver.requests(path)
    assert [r.status for r in received] == [500] * MAX_ATTEMPTS + [200], [r.summary() for r in received]
    assert {r.webhook_id for r in received} == {alert_id}
    for request in received:
        check_delivery(request, [secret])


# --- 8. timeouts -------------------------------------------------------------------------------


def test_slow_receiver_times_out_and_is_retried(server, receiver, changelog):
    path, tag = "/hook/slow", unique_tag("slow")
    receiver.script(path, Reply(200, delay=WEBHOOK_TIMEOUT + 1.5), 200)
    subscriber = new_subscriber(server, receiver, changelog, "slow", {"tags": [tag]}, [path])
    secret = subscriber.channel(path)["secret"]
    event_id = post_event(server, "Sudanese Doctors Network: Shelling on a market in El Fasher kills civilians", [tag])

    received = one_alert(receiver, path, event_id, server, count=2)
    alert = check_delivery(received[0], [secret])
    delivery = wait_for_delivery(server, subscriber, alert["alert_id"], {"delivered", "dead", "failed"})
    check_requests_match_log(receiver, path, delivery)
    attempts = delivery["attempts"]
    assert [a["outcome"] for a in attempts] == ["retry", "delivered"], attempts
    assert attempts[0].get("status_code") is None and "timed out" in (attempts[0]["detail"] or ""), attempts[0]
    assert {r.webhook_id for r in receiver.requests(path)} == {alert["alert_id"]}
    for request in receiver.requests(path):
        check_delivery(request, [secret])


# --- 9. read-your-writes for subscriptions, and alert counts -------------------------------------

READ_YOUR_WRITES_SUBSCRIBERS = 100


def test_subscribers_created_just_before_a_flash_are_all_alerted_once_and_counted(server, receiver):
    # Subscribers sign up through the public API as fast as 8 clients can, and the FLASH is posted the moment
    # the last answer arrives: no wait for the changelog. Every answer that changed subscriptions says the change
    # is applied on this node, so every one of them is alerted, once, and the event shows the count.
    tag = unique_tag("read-your-writes")
    headers_seen: list[str | None] = []

    def sign_up(index: int) -> tuple[str, str]:
        path = f"/hook/read-your-writes/{index}"
        answers = []
        created = server.request("POST", "/v1/subscribers", key=server.admin_key, json={"name": f"reader {index}", "time_zone": "UTC"})
        answers.append(created)
        assert created.status_code == 201, describe(created)
        subscriber_id = created.json()["subscriber_id"]
        token = call(server, "POST", f"/v1/subscribers/{subscriber_id}/tokens", server.admin_key, 201)["token"]
        channel = server.request("POST", "/v1/channels", key=token, json={"kind": "webhook", "url": receiver.url(path)})
        subscription = server.request("POST", "/v1/subscriptions", key=token, json={"name": "flash", "rule": {"tags": [tag]}})
        for response in (channel, subscription):
            assert response.status_code == 201, describe(response)
            answers.append(response)
        headers_seen.extend(response.headers.get("Newsalert-Replication") for response in answers)
        return path, channel.json()["secret"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        readers = list(pool.map(sign_up, range(READ_YOUR_WRITES_SUBSCRIBERS)))
    event_id = post_event(server, "Flash: parliament dissolved by decree, elections called", [tag], urgency=1)

    assert headers_seen == ["applied"] * len(headers_seen), f"answers not applied on this node: {sorted(set(map(str, headers_seen)))}"
    missing, repeated = [], []
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        received = {path: alerts_of_event(event_id)(receiver.requests(path)) for path, _ in readers}
        missing = [path for path, requests in received.items() if not requests]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert missing == [], f"{len(missing)} of {len(readers)} subscribers created before the event got no alert: {missing[:5]}"
    for path, secret in readers:
        check_delivery(received[path][0], [secret])

    # The event's alert count, from the delivery log, reaches exactly the audience.
    counted: dict = {}
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        counted = call(server, "GET", f"/v1/events/{event_id}", server.editor_key, 200)
        if counted["alerts_delivered"] >= len(readers):
            break
        time.sleep(0.2)
    assert (counted["alerts_delivered"], counted["alerts_by_channel"]) == (len(readers), {"webhook": len(readers)}), {
        key: counted.get(key) for key in ("alerts_delivered", "alerts_by_channel")}
    listed = call(server, "GET", "/v1/events?limit=50", server.editor_key, 200)["events"]
    assert [item["alerts_delivered"] for item in listed if item["event"]["id"] == event_id] == [len(readers)]

    # Delivered, counted: now no path got the alert twice.
    repeated = [path for path, _ in readers if len(alerts_of_event(event_id)(receiver.requests(path))) > 1]
    assert repeated == [], f"{len(repeated)} subscribers were alerted more than once: {repeated[:5]}"
    metrics = server.request("GET", "/metrics").text
    assert "newsalert_subscription_replication_lag_seconds" in metrics, "the replication lag is not exposed"
