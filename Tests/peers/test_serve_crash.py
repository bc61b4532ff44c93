"""Crash test of `newsalert serve` itself (issue 14): kill -9 of the one-machine default, three times, loses nothing.

One `newsalert serve` on its embedded broker, with its own data directory, delivering to

* 100 webhook subscribers, each with its own path on a receiver in this process (test_faults.Receiver), every
  request checked with the reference verifier (`standardwebhooks`, through test_webhook_delivery.verify), and
* 100 email subscribers, each with its own address, through an aiosmtpd relay in this process
  (test_email_delivery.MailRelay, plain text, `--smtp-tls none`).

Every subscriber is created through the public API (admin: subscriber with no budget cap and a token; token: the
channel and one subscription) and subscribes to one of 25 tags `crash-<run>-<i % 25>`. A newsroom thread posts
1,000 breaking items at a steady rate (20 a second), each with its own Idempotency-Key, one tag chosen round-robin
(so every item matches 4 webhook and 4 email subscribers: 8,000 deliveries) and a headline of made-up words no other headline
shares (test_faults.distinct_headlines), so story threading makes each item a story of its own. A POST that fails
because the server is down (connection refused or reset, 502/503/504, 409 `idempotency_key_in_progress`) is
retried with the same key and body until it answers 202 (beside the next items, which go on at the steady rate);
the id of each 202 is recorded.

After about 20 %, 50 % and 80 % of the items were sent, `serve` is killed with SIGKILL and started again on the
same data directory and port; the newsroom holds back until `/readyz` answers 200. Then the test waits while
deliveries keep arriving (bounded: a minute without progress, ten minutes at most), never sleeping for absence,
until every accepted item reached every matching subscriber: at least one
verified webhook request per (path, item) and at least one message per (address, item). The item of a request
is read from the alert's headline (and its event id checked against the 202), the item of a message from its
Subject; so an item published twice under two event ids shows up as a second id. A webhook request the kill cut
off (its body shorter than its Content-Length: nobody was answered) is counted apart, not as a delivery.

Printed (and written to crash-counts.json in the test's tmp dir): accepted events, expected / delivered / missing
per channel, repeats under the same webhook-id / Message-ID, alerts for one (subscriber, item) under a second id,
alert types. Asserted: nothing missing, no second ids, every POST answered 202, every webhook request verified,
no alert to a subscriber whose rule does not match, and every restart logging that it recovered from SQLite.
"""

from __future__ import annotations

import concurrent.futures
import email.parser
import email.policy
import errno
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import requests
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import (
    CHANGELOG_TOPIC, NewsalertServer, TopicReader, _tail, call, create_api_key, error_code, free_port, newsalert_serve_status,
    wait_for_serve,
)
from test_email_delivery import MAIL_FROM, PUBLIC_URL, MailRelay
from test_faults import Receiver, distinct_headlines, group_lag, is_notice
from test_webhook_delivery import verify

ITEMS = 1000
POST_RATE = 20.0                      # items a second, steady
POSTERS = 16                          # first attempts in flight at once
RETRYING_POSTERS = 60                 # items being retried go on beside them, so a stuck retry does not hold the others up
WEBHOOK_SUBSCRIBERS = 100
EMAIL_SUBSCRIBERS = 100
TAGS = 25                             # each item matches 4 webhook and 4 email subscribers: 8,000 deliveries
KILL_AFTER = (0.2, 0.5, 0.8)          # fractions of the items sent
RETRY_DELAYS = "0,1,1,2,3,5"          # six attempts over about 12 s
WEBHOOK_TIMEOUT = 5.0
HTTP_TIMEOUT = 15.0
READY_TIMEOUT = 90.0                  # a restart: `listening on`, then /readyz 200
SETUP_TIMEOUT = 120.0                 # 200 subscribers on the changelog; the warm-up alert at every subscriber
IN_PROGRESS_PATIENCE = 45.0           # a request whose process died is taken over by a retry after 30 s
POSTING_DEADLINE = 200.0              # every POST answered 202 within this long after the first
# The wait for deliveries goes on while they keep arriving: it ends when every one arrived, when none arrived for
# DRAIN_STALL (nothing moves: what is missing is lost or stuck), or at the latest DRAIN_LIMIT after the last 202.
DRAIN_STALL = 60.0
DRAIN_LIMIT = 600.0
RECOVERY_LINE = "recovered from SQLite after a restart on an empty embedded log"


# --- the server, killed and restarted ------------------------------------------------------------


class Serve:
    """`newsalert serve` on one data directory and port, started again after each kill -9."""

    def __init__(self, spawn, newsalert_bin: Path, workdir: Path, relay: MailRelay):
        self.spawn, self.newsalert_bin = spawn, newsalert_bin
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.argv = [os.fspath(newsalert_bin), "serve", "--port", str(self.port), "--data-dir", os.fspath(self.data_dir),
                     "--webhook-allow", "127.0.0.1/32", "--smtp-relay", relay.address, "--smtp-tls", "none",
                     "--mail-from", MAIL_FROM, "--public-url", PUBLIC_URL, "--retry-delays", RETRY_DELAYS,
                     "--webhook-timeout", f"{WEBHOOK_TIMEOUT:g}"]
        self.processes = []        # every start, oldest first
        self.server: NewsalertServer | None = None
        self.up = threading.Event()
        self.timeline: list[str] = []
        self.started_at = time.monotonic()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self):
        return self.processes[-1]

    def note(self, text: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started_at:6.1f}s {text}")

    def logs(self) -> str:
        return self.process.describe() if self.processes else "(serve never started)"

    def start(self) -> None:
        began = time.monotonic()
        while True:
            try:
                process = self.spawn(self.argv, name=f"serve-{len(self.processes)}")
                break
            except OSError as error:
                # ETXTBSY: the binary is being rewritten (a build beside the test); exec it once the linker is done.
                if error.errno != errno.ETXTBSY or time.monotonic() - began > READY_TIMEOUT:
                    raise
                time.sleep(0.5)
        self.processes.append(process)
        _, bootstrap = wait_for_serve(process, READY_TIMEOUT)
        deadline = began + READY_TIMEOUT
        last = "no answer"
        while True:
            if not process.running():
                pytest.fail(f"serve exited while starting (start {len(self.processes)})\n{process.describe()}")
            try:
                response = requests.get(self.base_url + "/readyz", timeout=5)
                if response.status_code == 200:
                    break
                last = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as error:
                last = f"{type(error).__name__}: {error}"
            if time.monotonic() > deadline:
                pytest.fail(f"serve (start {len(self.processes)}) did not answer /readyz 200 within {READY_TIMEOUT:.0f} s "
                            f"(last: {last})\n{process.describe()}")
            time.sleep(0.1)
        if self.server is None:
            self.server = NewsalertServer(base_url=self.base_url, bootstrap_servers=bootstrap, data_dir=self.data_dir,
                                          editor_key=create_api_key(self.newsalert_bin, self.data_dir, "editor"),
                                          admin_key=create_api_key(self.newsalert_bin, self.data_dir, "admin"), process=process)
        else:
            self.server.bootstrap_servers, self.server.process = bootstrap, process
        self.note(f"serve start {len(self.processes)} ready after {time.monotonic() - began:.1f} s (pid {process.pid})")
        self.up.set()

    def kill9_and_restart(self) -> None:
        process = self.process
        assert process.running(), f"serve was not running when it was to be killed:\n{process.describe()}"
        self.up.clear()
        os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)
        self.note(f"kill -9 serve (pid {process.pid})")
        self.start()


# --- the newsroom ---------------------------------------------------------------------------------


@dataclass
class Item:
    number: int
    headline: str
    tag: str
    idempotency_key: str
    url: str
    event_id: str | None = None
    attempts: int = 0
    retried_on: list[str] = field(default_factory=list)
    replayed: bool = False
    error: str | None = None
    sent_at: float | None = None
    answered_at: float | None = None

    @property
    def body(self) -> dict:
        return {"kind": "breaking", "headline": self.headline, "tags": [self.tag], "url": self.url}


class Newsroom:
    """Posts the items at a steady rate from a background thread; each POST retried with its key until 202."""

    def __init__(self, serve: Serve, items: list[Item]):
        self.serve, self.items = serve, items
        self.sent = 0                      # items handed to a poster so far
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="newsroom", daemon=True)
        self.errors: list[str] = []
        self.in_flight = threading.BoundedSemaphore(POSTERS)
        self.first_post_at: float | None = None
        self.cancelled = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        """The test is over (it failed on the way): the posters stop instead of retrying until their deadline."""
        self.cancelled.set()
        self.serve.up.set()

    def accepted(self) -> list[Item]:
        return [item for item in self.items if item.event_id]

    def _run(self) -> None:
        try:
            self.first_post_at = time.monotonic()
            deadline = self.first_post_at + POSTING_DEADLINE
            interval = 1.0 / POST_RATE
            with concurrent.futures.ThreadPoolExecutor(POSTERS + RETRYING_POSTERS, thread_name_prefix="poster") as pool:
                futures = []
                next_at = time.monotonic()
                for item in self.items:
                    if self.cancelled.is_set():
                        break
                    if not self.serve.up.is_set():
                        # The newsroom holds back while the server restarts, then goes on at its steady rate.
                        if not self.serve.up.wait(timeout=max(0.0, deadline - time.monotonic())):
                            self.errors.append(f"the server was not back before the posting deadline at item {item.number}")
                            break
                        next_at = time.monotonic()
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    # At most POSTERS first attempts in flight: a newsroom client that is not answered does not pile up more.
                    if not self.in_flight.acquire(timeout=max(0.0, deadline - time.monotonic())):
                        self.errors.append(f"no POST finished before the posting deadline at item {item.number}")
                        break
                    next_at = max(next_at + interval, time.monotonic() - interval)
                    item.sent_at = time.monotonic()
                    futures.append(pool.submit(self._publish, item, deadline))
                    self.sent += 1
                for future in futures:
                    future.result()
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            self.stopped.set()

    def _publish(self, item: Item, deadline: float) -> None:
        holding = [True]
        try:
            self._post_until_accepted(item, deadline, holding)
        finally:
            if holding[0]:
                self.in_flight.release()

    def _post_until_accepted(self, item: Item, deadline: float, holding: list[bool]) -> None:
        headers = {"Authorization": f"Bearer {self.serve.server.editor_key}", "Idempotency-Key": item.idempotency_key}
        in_progress_since = None
        while True:
            if item.attempts and holding[0]:
                # Retrying (the server went down under it, or still holds its key as in progress): it goes on in the
                # background and no longer holds up the next items.
                self.in_flight.release()
                holding[0] = False
            if self.cancelled.is_set():
                item.error = "cancelled: the test ended first"
                return
            if not self.serve.up.wait(timeout=max(0.0, deadline - time.monotonic())):
                item.error = f"the server was not up before the deadline ({item.attempts} attempts, {item.retried_on[-3:]})"
                return
            item.attempts += 1
            try:
                response = requests.post(self.serve.base_url + "/v1/events", json=item.body, headers=headers, timeout=HTTP_TIMEOUT)
            except requests.RequestException as error:
                item.retried_on.append(type(error).__name__)
            else:
                if response.status_code == 202:
                    item.event_id = response.json()["id"]
                    item.answered_at = time.monotonic()
                    item.replayed = response.headers.get("Idempotent-Replayed") == "true"
                    return
                if response.status_code == 409 and error_code(response) == "idempotency_key_in_progress":
                    in_progress_since = in_progress_since or time.monotonic()
                    item.retried_on.append("409 in_progress")
                    if time.monotonic() - in_progress_since > IN_PROGRESS_PATIENCE:
                        item.error = f"409 idempotency_key_in_progress for {IN_PROGRESS_PATIENCE:.0f} s: {response.text[:300]}"
                        return
                elif response.status_code in (502, 503, 504):
                    item.retried_on.append(str(response.status_code))
                else:
                    item.error = f"POST /v1/events -> {response.status_code}: {response.text[:500]}"
                    return
            if time.monotonic() > deadline:
                item.error = f"no 202 before the deadline after {item.attempts} attempts ({item.retried_on[-3:]})"
                return
            time.sleep(0.25)


# --- what the subscribers got ---------------------------------------------------------------------


class Tally:
    """Reads what the receiver and the relay got, incrementally (each request verified once, near its arrival)."""

    def __init__(self, receiver: Receiver, relay: MailRelay, label: str, secrets: dict[str, str]):
        self.receiver, self.relay, self.secrets = receiver, relay, secrets
        self.item_pattern = re.compile(rf"\({re.escape(label)} (\d+)\)")
        self.warmup_marker = f"({label} warm-up)"
        self.headers_parser = email.parser.BytesHeaderParser(policy=email.policy.default)
        self.webhooks_read = 0
        self.mails_read = 0
        # (path, item) -> webhook-id -> [event ids]; (address, item) -> Message-ID -> count
        self.webhooks: dict[tuple[str, int], dict[str, list[str]]] = {}
        self.mails: dict[tuple[str, int], Counter] = {}
        self.warmup_paths: set[str] = set()
        self.warmup_addresses: set[str] = set()
        self.webhook_types: Counter = Counter()
        self.email_labels: Counter = Counter()
        self.notices = 0
        self.unverified: list[str] = []
        self.cut_off: list[str] = []
        self.webhook_id_not_alert_id: list[str] = []
        self.unreadable: list[str] = []

    def read(self) -> None:
        with self.receiver.lock:
            new_requests = self.receiver.received[self.webhooks_read:]
        self.webhooks_read += len(new_requests)
        for request in new_requests:
            if is_notice(request.body):
                self.notices += 1
                continue
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and len(request.body) < int(declared):
                # The sender died (kill -9) in the middle of the request: the receiver got part of the body, nobody
                # got an answer, so it is not a delivery (the restarted server sends it again).
                self.cut_off.append(f"{request.path} webhook-id={request.webhook_id}: {len(request.body)} of {declared} bytes")
                continue
            secret = self.secrets.get(request.path)
            if secret is None:
                self.unreadable.append(f"webhook to an unknown path {request.path}")
                continue
            try:
                verify(secret, request)
            except WebhookVerificationError as error:
                self.unverified.append(f"{request.path} webhook-id={request.webhook_id}: {error} (body {len(request.body)} bytes, "
                                       f"Content-Length {declared}, headers {request.headers}, body {request.body[:300]!r})")
                continue
            alert = json.loads(request.body)
            if request.webhook_id != alert.get("alert_id"):
                self.webhook_id_not_alert_id.append(f"{request.path}: webhook-id {request.webhook_id} alert_id {alert.get('alert_id')}")
            headline = alert["event"]["headline"]
            if self.warmup_marker in headline:
                self.warmup_paths.add(request.path)
                continue
            match = self.item_pattern.search(headline)
            if not match:
                self.unreadable.append(f"webhook to {request.path} about an unknown headline {headline!r}")
                continue
            self.webhook_types[alert.get("type")] += 1
            ids = self.webhooks.setdefault((request.path, int(match.group(1))), {})
            ids.setdefault(request.webhook_id, []).append(alert["event"]["id"])

        mails = self.relay.mails()
        new_mails = mails[self.mails_read:]
        self.mails_read = len(mails)
        for mail in new_mails:
            head = self.headers_parser.parsebytes(mail.raw)
            subject, message_id = str(head["Subject"] or ""), str(head["Message-ID"] or "").strip()
            addresses = [address.lower() for address in mail.rcpt_tos]
            if self.warmup_marker in subject:
                self.warmup_addresses.update(addresses)
                continue
            match = self.item_pattern.search(subject)
            if not match or not mail.accepted:
                self.unreadable.append(f"mail to {addresses} answered {mail.reply!r}: {subject!r}")
                continue
            self.email_labels[subject.split("]", 1)[0].lstrip("[")] += 1
            for address in addresses:
                self.mails.setdefault((address, int(match.group(1))), Counter())[message_id] += 1


# --- setup ------------------------------------------------------------------------------------------


@dataclass
class Subscribers:
    webhook_paths: list[str]                  # index i subscribes to tag i % TAGS
    addresses: list[str]
    secrets: dict[str, str]                   # path -> whsec_ secret
    changelog_keys: list[str]


def make_subscribers(serve: Serve, receiver: Receiver, run: str, tags: list[str]) -> Subscribers:
    server = serve.server
    webhook_paths = [f"/hook/{run}/{i}" for i in range(WEBHOOK_SUBSCRIBERS)]
    addresses = [f"crash-{run}-{i}@example.com" for i in range(EMAIL_SUBSCRIBERS)]

    def one(kind: str, i: int) -> tuple[str, dict, list[str]]:
        subscriber_id = call(server, "POST", "/v1/subscribers", server.admin_key, 201, timeout=HTTP_TIMEOUT,
                             json={"name": f"crash {kind} {i}", "time_zone": "UTC",
                                   "budget": {"per_hour": None, "per_day": None}})["subscriber_id"]
        token = call(server, "POST", f"/v1/subscribers/{subscriber_id}/tokens", server.admin_key, 201)["token"]
        if kind == "webhook":
            channel = call(server, "POST", "/v1/channels", token, 201, json={"kind": "webhook", "url": receiver.url(webhook_paths[i])})
        else:
            # The newsroom imports its readers' addresses with the consent they gave elsewhere (no confirmation mail).
            channel = call(server, "POST", f"/v1/subscribers/{subscriber_id}/channels", server.admin_key, 201,
                           json={"kind": "email", "address": addresses[i],
                                 "consent": {"confirmed_at": "2025-01-15T09:00:00Z", "source": "reader list import"}})
        subscription = call(server, "POST", "/v1/subscriptions", token, 201,
                            json={"name": f"crash {kind} {i}", "rule": {"tags": [tags[i % TAGS]]}})
        return kind, channel, [subscriber_id, channel["id"], subscription["subscription_id"]]

    jobs = [("webhook", i) for i in range(WEBHOOK_SUBSCRIBERS)] + [("email", i) for i in range(EMAIL_SUBSCRIBERS)]
    secrets, keys = {}, []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for (kind, i), (_, channel, changelog_keys) in zip(jobs, pool.map(lambda job: one(*job), jobs)):
            if kind == "webhook":
                assert channel["secret"].startswith("whsec_"), channel
                secrets[webhook_paths[i]] = channel["secret"]
            keys += changelog_keys
    return Subscribers(webhook_paths, addresses, secrets, keys)


def wait_for(predicate: Callable[[], object], timeout: float, what: str, serve: Serve, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{serve.logs()}")
        time.sleep(interval)


def quiet_connection_resets(receiver: Receiver) -> None:
    """A server killed while it sends leaves the receiver a reset connection: expected here, so not printed; any
    other error in the receiver's handler still is."""
    def handle_error(request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            socketserver.BaseServer.handle_error(receiver.server, request, client_address)
    receiver.server.handle_error = handle_error


STAGES = [("enrich", "newsalert-enrich", "news.events"), ("fanout", "newsalert-fanout", "news.enriched"),
          ("deliver webhook", "newsalert-deliver-webhook", "alerts.webhook"), ("deliver email", "newsalert-deliver-email", "alerts.email")]


def pending_work(serve: Serve) -> dict:
    """What the server still has to do: records its consumer groups have not committed, per stage (Kafka), and the
    delivery retry queues (its /metrics); so a delivery missing at the end can be told apart as queued or lost."""
    state: dict = {}
    for stage, group, topic in STAGES:
        try:
            state[f"lag {stage}"] = group_lag(serve.server.bootstrap_servers, group, topic)
        except Exception as error:  # noqa: BLE001 - a diagnostic only
            state[f"lag {stage}"] = f"{type(error).__name__}: {error}"[:200]
    try:
        metrics = requests.get(serve.base_url + "/metrics", timeout=10).text
        for line in metrics.splitlines():
            if line.startswith("newsalert_delivery_retry_queue"):
                name, _, value = line.rpartition(" ")
                state[name] = float(value)
    except requests.RequestException as error:
        state["metrics"] = f"{type(error).__name__}: {error}"
    return state


def ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    out, numbers = [], sorted(numbers)
    start = previous = None
    for number in numbers + [None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            out.append(f"{start}-{previous}" if previous != start else f"{start}")
        start = previous = number
    return ", ".join(out)


# --- the test -----------------------------------------------------------------------------------------


def test_serve_survives_kill_9_three_times(newsalert_bin: Path, spawn, tmp_path: Path):
    test_started = time.monotonic()
    available, reason = newsalert_serve_status(newsalert_bin)
    assert available, reason
    run = uuid.uuid4().hex[:8]
    label = f"crash-{run}"
    tags = [f"crash-{run}-{t}" for t in range(TAGS)]

    receiver = Receiver()
    quiet_connection_resets(receiver)
    relay = MailRelay().start()
    changelog = None
    newsroom = None
    try:
        serve = Serve(spawn, newsalert_bin, tmp_path, relay)
        serve.start()
        server = serve.server

        # Subscribers through the API; every one on the changelog, then one warm-up item matching all of them reaches
        # each (so the replicas hold every rule and the consumer groups have joined before anything is counted).
        subscribers = make_subscribers(serve, receiver, run, tags)
        changelog = TopicReader(server.bootstrap_servers, CHANGELOG_TOPIC)
        wanted = {key.encode() for key in subscribers.changelog_keys}
        changelog.wait_for(lambda records: wanted <= {key for key, value in records if value is not None}, SETUP_TIMEOUT,
                           f"the {len(wanted)} subscriber, channel and subscription changes")
        changelog.close()
        changelog = None
        tally = Tally(receiver, relay, label, subscribers.secrets)
        warmup_id = call(server, "POST", "/v1/events", server.editor_key, 202,
                         json={"kind": "breaking", "headline": f"{distinct_headlines(1, 'x')[0].rsplit(' (', 1)[0]} {tally.warmup_marker}",
                               "tags": tags})["id"]

        def warmed_up() -> bool:
            tally.read()
            return (tally.warmup_paths >= set(subscribers.webhook_paths)
                    and tally.warmup_addresses >= {a.lower() for a in subscribers.addresses})
        wait_for(warmed_up, SETUP_TIMEOUT, f"the warm-up item {warmup_id} at all {WEBHOOK_SUBSCRIBERS} webhook paths and "
                 f"{EMAIL_SUBSCRIBERS} addresses (got {len(tally.warmup_paths)} and {len(tally.warmup_addresses)})", serve)
        setup_seconds = time.monotonic() - test_started
        serve.note(f"setup done ({setup_seconds:.1f} s): {WEBHOOK_SUBSCRIBERS} webhook + {EMAIL_SUBSCRIBERS} email subscribers")

        # The newsroom posts; the test kills and restarts serve after 20 %, 50 % and 80 % of the items were sent.
        headlines = distinct_headlines(ITEMS, label)
        items = [Item(n, headlines[n], tags[n % TAGS], f"{label}-{n}", f"https://news.example/{label}/{n}") for n in range(ITEMS)]
        newsroom = Newsroom(serve, items)
        kill_points = [int(ITEMS * fraction) for fraction in KILL_AFTER]
        kills_at_item: list[int] = []
        newsroom.start()
        next_report = time.monotonic() + 10
        while not newsroom.stopped.is_set():
            tally.read()
            if kill_points and newsroom.sent >= kill_points[0]:
                kill_points.pop(0)
                kills_at_item.append(newsroom.sent)
                serve.note(f"kill after {newsroom.sent} items sent, {len(newsroom.accepted())} accepted")
                serve.kill9_and_restart()
            if time.monotonic() > next_report:
                next_report += 10
                print(f"[{time.monotonic() - test_started:5.0f}s] sent {newsroom.sent}, accepted {len(newsroom.accepted())}, "
                      f"webhook pairs {len(tally.webhooks)}, email pairs {len(tally.mails)}", flush=True)
            assert serve.process.running(), f"serve died on its own\n{serve.logs()}"
            time.sleep(0.2)
        newsroom.thread.join(timeout=5)
        posting_seconds = time.monotonic() - newsroom.first_post_at
        serve.note(f"posting done ({posting_seconds:.1f} s)")
        assert len(kills_at_item) == len(KILL_AFTER), (f"only {len(kills_at_item)} kills happened: {serve.timeline}; "
                                                       f"newsroom errors: {newsroom.errors}")

        accepted = newsroom.accepted()
        event_of = {item.number: item.event_id for item in accepted}
        webhook_expected = {(path, item.number) for item in accepted for i, path in enumerate(subscribers.webhook_paths)
                            if i % TAGS == item.number % TAGS}
        email_expected = {(address.lower(), item.number) for item in accepted for i, address in enumerate(subscribers.addresses)
                          if i % TAGS == item.number % TAGS}

        def delivered_webhooks() -> set[tuple[str, int]]:
            return set(tally.webhooks) & webhook_expected

        def delivered_mails() -> set[tuple[str, int]]:
            return set(tally.mails) & email_expected

        # Wait, bounded, until every expected delivery arrived.
        drain_started = time.monotonic()
        last_progress, arrived = drain_started, -1
        next_report = drain_started + 15
        while True:
            tally.read()
            missing_webhooks = webhook_expected - set(tally.webhooks)
            missing_mails = email_expected - set(tally.mails)
            if not missing_webhooks and not missing_mails:
                break
            now = time.monotonic()
            if len(missing_webhooks) + len(missing_mails) != arrived:
                arrived, last_progress = len(missing_webhooks) + len(missing_mails), now
            if now - last_progress > DRAIN_STALL or now - drain_started > DRAIN_LIMIT:
                break
            if now > next_report:
                next_report += 15
                print(f"[{now - test_started:5.0f}s] waiting: webhook {len(webhook_expected) - len(missing_webhooks)}/"
                      f"{len(webhook_expected)}, email {len(email_expected) - len(missing_mails)}/{len(email_expected)}", flush=True)
            assert serve.process.running(), f"serve died on its own\n{serve.logs()}"
            time.sleep(1.0)
        drain_seconds = time.monotonic() - drain_started
        serve.note(f"wait for deliveries ended ({drain_seconds:.1f} s)")

        # What the server says became of some items missing now (GET /v1/events/{id}, a sample spread over them), and
        # what it still has queued: records its consumer groups have not consumed, deliveries waiting for a retry.
        missing_then = sorted({n for _, n in missing_webhooks} | {n for _, n in missing_mails})
        pending = pending_work(serve) if missing_then else {}
        sample = missing_then[::max(1, len(missing_then) // 24)][:24]
        sample_states: Counter = Counter()
        lost_detail = []
        for n in sample:
            try:
                response = server.request("GET", f"/v1/events/{event_of[n]}", key=server.editor_key, timeout=10)
            except requests.RequestException as error:
                lost_detail.append(f"item {n}: {type(error).__name__}: {error}")
                continue
            if response.status_code != 200:
                lost_detail.append(f"item {n} {event_of[n]}: GET -> {response.status_code} {response.text[:200]}")
                continue
            record = response.json()
            states = Counter(d.get("state") for d in record.get("deliveries") or [])
            if record.get("enrichment") is None:
                sample_states["not enriched"] += 1
            elif not states:
                sample_states["enriched, no delivery made"] += 1
            elif states.keys() & {"queued", "retrying"}:
                sample_states["deliveries queued or retrying"] += 1
            elif states.keys() - {"delivered"}:
                sample_states["deliveries ended without delivery"] += 1
            else:
                sample_states["all delivered, says the server"] += 1
            lost_detail.append(f"item {n} {event_of[n]}: dedup={record.get('dedup')!r} enriched={record.get('enrichment') is not None} "
                               f"alerts_delivered={record.get('alerts_delivered')} deliveries={dict(states)}")
        # What arrived while the server was asked counts too.
        tally.read()
        missing_webhooks = webhook_expected - set(tally.webhooks)
        missing_mails = email_expected - set(tally.mails)

        # --- counting -------------------------------------------------------------------------------------
        webhook_repeats = sum(len(events) - 1 for ids in tally.webhooks.values() for events in ids.values())
        mail_repeats = sum(count - 1 for ids in tally.mails.values() for count in ids.values())
        webhook_second_ids = {key: sorted(ids) for key, ids in tally.webhooks.items() if len(ids) > 1}
        mail_second_ids = {key: sorted(ids) for key, ids in tally.mails.items() if len(ids) > 1}
        webhook_wrong_event = sorted({(path, n, event_id) for (path, n), ids in tally.webhooks.items() for events in ids.values()
                                      for event_id in events if event_id != event_of.get(n)})
        webhook_unexpected = sorted(set(tally.webhooks) - webhook_expected)
        mail_unexpected = sorted(set(tally.mails) - email_expected)
        failed_posts = [item for item in items if not item.event_id]
        waits = sorted(item.answered_at - item.sent_at for item in accepted)
        seconds_to_202 = ({"median": round(waits[len(waits) // 2], 2), "p99": round(waits[int(len(waits) * 0.99)], 2),
                           "max": round(waits[-1], 2), "over_5s": sum(1 for w in waits if w > 5)} if waits else {})
        lost_items = sorted({n for _, n in missing_webhooks} | {n for _, n in missing_mails})
        untouched_items = sorted(n for n in lost_items
                                 if not any((path, n) in tally.webhooks for path in subscribers.webhook_paths)
                                 and not any((address.lower(), n) in tally.mails for address in subscribers.addresses))
        restarts = serve.processes[1:]
        recovery_logged = [RECOVERY_LINE in (process.stdout() + process.stderr()) for process in restarts]
        recovery_lines = [next((line for line in (process.stdout() + process.stderr()).splitlines() if "recovered from SQLite" in line), None)
                          for process in restarts]

        counts = {
            "items_sent": ITEMS,
            "events_accepted": len(accepted),
            "posts_without_202": len(failed_posts),
            "posts_retried": sum(1 for item in items if item.attempts > 1),
            "retry_reasons": dict(Counter(reason for item in items for reason in item.retried_on)),
            "idempotent_replays": sum(1 for item in items if item.replayed),
            "seconds_to_202": seconds_to_202,
            "kills_after_items_sent": kills_at_item,
            "webhook": {
                "expected": len(webhook_expected), "delivered": len(delivered_webhooks()),
                "missing": len(webhook_expected - set(tally.webhooks)),
                "requests": sum(len(events) for ids in tally.webhooks.values() for events in ids.values()),
                "repeats_same_webhook_id": webhook_repeats, "second_id_alerts": sum(len(ids) - 1 for ids in webhook_second_ids.values()),
                "pairs_with_second_id": len(webhook_second_ids), "unverified": len(tally.unverified),
                "cut_off_by_a_kill": len(tally.cut_off),
                "webhook_id_not_alert_id": len(tally.webhook_id_not_alert_id), "event_id_not_the_202s": len(webhook_wrong_event),
                "to_non_matching_subscriber": len(webhook_unexpected), "notices": tally.notices,
                "alert_types": dict(tally.webhook_types),
            },
            "email": {
                "expected": len(email_expected), "delivered": len(delivered_mails()),
                "missing": len(email_expected - set(tally.mails)),
                "messages": sum(sum(ids.values()) for ids in tally.mails.values()),
                "repeats_same_message_id": mail_repeats, "second_id_alerts": sum(len(ids) - 1 for ids in mail_second_ids.values()),
                "pairs_with_second_id": len(mail_second_ids), "to_non_matching_subscriber": len(mail_unexpected),
                "subject_labels": dict(tally.email_labels),
            },
            "items_not_fully_delivered": len(lost_items),
            "items_with_no_alert_at_all": len(untouched_items),
            "pending_at_end": pending,
            "server_view_of_sampled_missing_items": {"sampled": len(sample), **sample_states},
            "unreadable": len(tally.unreadable),
            "restarts_logging_recovery": f"{sum(recovery_logged)}/{len(restarts)}",
            "setup_seconds": round(setup_seconds, 1),
            "posting_seconds": round(posting_seconds, 1),
            "drain_seconds": round(drain_seconds, 1),
            "total_seconds": round(time.monotonic() - test_started, 1),
        }
        report = {"counts": counts, "timeline": serve.timeline, "recovery_lines": recovery_lines,
                  "items_not_fully_delivered": ranges(lost_items), "items_with_no_alert_at_all": ranges(untouched_items),
                  "lost_detail": lost_detail,
                  "failed_posts": [{"number": i.number, "attempts": i.attempts, "error": i.error, "retried_on": i.retried_on[-5:]}
                                   for i in failed_posts[:20]],
                  "webhook_second_ids": {f"{p} {n}": ids for (p, n), ids in list(webhook_second_ids.items())[:20]},
                  "email_second_ids": {f"{a} {n}": ids for (a, n), ids in list(mail_second_ids.items())[:20]},
                  "unverified": tally.unverified[:20], "cut_off": tally.cut_off[:20], "unreadable": tally.unreadable[:20],
                  "webhook_event_id_not_the_202s": [list(x) for x in webhook_wrong_event[:20]]}
        (tmp_path / "crash-counts.json").write_text(json.dumps(report, indent=2, default=str))
        print("\nserve crash test counts:", json.dumps(counts, indent=2))
        print("timeline:\n  " + "\n  ".join(serve.timeline))
        print("recovery lines:", recovery_lines)
        if lost_items:
            print(f"items not fully delivered ({len(lost_items)}): {ranges(lost_items)}")
            print(f"items with no alert at all ({len(untouched_items)}): {ranges(untouched_items)}")
            print("server's view of some:\n  " + "\n  ".join(lost_detail))
        print("written to", tmp_path / "crash-counts.json")

        # --- asserting --------------------------------------------------------------------------------------
        problems = []
        if newsroom.errors:
            problems.append(f"the newsroom thread failed: {newsroom.errors}")
        if failed_posts:
            problems.append(f"{len(failed_posts)} POSTs never answered 202: "
                            f"{[(i.number, i.attempts, i.error) for i in failed_posts[:5]]}")
        if counts["webhook"]["missing"] or counts["email"]["missing"]:
            still_queued = sum(v for k, v in pending.items() if isinstance(v, (int, float)))
            sampled_pending = sample_states["deliveries queued or retrying"]
            verdict = (f"the server still had work queued at the deadline ({still_queued:g} records/retries pending, "
                       f"{sampled_pending} of {len(sample)} sampled missing items with deliveries queued): too slow to finish "
                       f"within the test's budget, or stuck"
                       if still_queued or sampled_pending else
                       "nothing was queued any more: these deliveries were lost")
            problems.append(
                f"{verdict}; pending {pending}; the server's view of {len(sample)} sampled missing items: {dict(sample_states)}.\n"
                f"missing after {drain_seconds:.0f} s: {counts['webhook']['missing']} of {len(webhook_expected)} webhook and "
                f"{counts['email']['missing']} of {len(email_expected)} email deliveries; {len(lost_items)} of {len(accepted)} accepted "
                f"items not fully delivered (items {ranges(lost_items)[:400]}), {len(untouched_items)} of them reached no subscriber "
                f"at all (items {ranges(untouched_items)[:400]}); kills after items {kills_at_item}; "
                f"e.g. {sorted(webhook_expected - set(tally.webhooks))[:3]} {sorted(email_expected - set(tally.mails))[:3]}; "
                f"server's view: {lost_detail[:3]}")
        if webhook_second_ids or mail_second_ids:
            problems.append(f"alerts for one (subscriber, item) under a second id: {counts['webhook']['second_id_alerts']} webhook "
                            f"(e.g. {list(webhook_second_ids.items())[:3]}), {counts['email']['second_id_alerts']} email "
                            f"(e.g. {list(mail_second_ids.items())[:3]})")
        if webhook_wrong_event:
            problems.append(f"{len(webhook_wrong_event)} webhook alerts carry an event id other than the one the 202 gave "
                            f"(an item published twice): {webhook_wrong_event[:3]}")
        if tally.unverified or tally.webhook_id_not_alert_id:
            problems.append(f"webhook requests standardwebhooks rejected: {tally.unverified[:3]}; "
                            f"webhook-id other than alert_id: {tally.webhook_id_not_alert_id[:3]}")
        if webhook_unexpected or mail_unexpected or tally.unreadable:
            problems.append(f"alerts to subscribers whose rule does not match: {webhook_unexpected[:3]} {mail_unexpected[:3]}; "
                            f"unreadable: {tally.unreadable[:3]}")
        for number, (process, logged) in enumerate(zip(restarts, recovery_logged), start=1):
            if not logged:
                problems.append(f"restart {number} (pid {process.pid}) logged no {RECOVERY_LINE!r} line (with the counts of events, "
                                f"enriched events and deliveries put back): either recovery from SQLite did not run on the empty "
                                f"embedded log or it does not say so; its output ends:\n{_tail(process.stdout(), 1200)}\n"
                                f"{_tail(process.stderr(), 1500)}")
        assert not problems, "\n".join(problems) + f"\ncounts {json.dumps(counts)}\ntimeline {serve.timeline}\n" \
                                                   f"last serve output:\n{serve.logs()[-3000:]}"
    finally:
        if newsroom is not None:
            newsroom.cancel()
        if changelog is not None:
            changelog.close()
        relay.stop()
        receiver.close()
