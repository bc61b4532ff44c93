"""Faults: crashed roles, a broker taken down, failing receivers, the auth matrix and hostile input.

1. Crash test: `newsalert broker` and the four roles (ingest, enrich, fanout, deliver) as separate
   processes, each with its own data directory. 2,000 events go in through `POST /v1/events` while a
   killer thread SIGKILLs enrich, fanout and deliver three times each (and ingest twice), restarting
   each with the same data directory and port. Afterwards every accepted event must have reached the
   webhook receiver (duplicates allowed, but only with the same webhook-id) and every Kafka topic on
   the way. The counts are printed and written to ``crash-counts.json`` in the test's tmp dir.
2. Broker fault: the same roles against a mock Kafka cluster hosted in this process (librdkafka's
   mock cluster, through the librdkafka that confluent-kafka ships), so that the broker leading most
   partitions of news.events can be taken down and up while 300 events flow. `newsalert broker` has
   no way to take one of its brokers down from outside; this is the way that exists.
3. Receivers that answer 500, time out or answer 410, one behaviour per channel: the end states
   (delivered after retries, dead with a news.deadletter record, failed with the channel disabled).
4. Auth matrix over every mutating endpoint of schemas/openapi.yaml.
5. Hostile input against a running `newsalert serve`: never a 5xx, never a crash, JSON errors.

Loopback only; every wait is bounded; nothing depends on how fast the machine is.
"""

from __future__ import annotations

import base64
import concurrent.futures
import ctypes
import glob
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from conftest import BackgroundProcess, NewsalertServer, create_api_key, error_code, free_port, load_schema, own_newsalert_server, wait_until
from conftest import describe as describe_response

EVENTS, ENRICHED, DEADLETTER, CHANGELOG, WEBHOOK_ALERTS = (
    "news.events", "news.enriched", "news.deadletter", "subscriptions.changelog", "alerts.webhook")
RETRY_DELAYS = "0,1,1,2,2,5"
MAX_ATTEMPTS = len(RETRY_DELAYS.split(","))
WEBHOOK_TIMEOUT = 2.0
HTTP_TIMEOUT = 20.0
ROLE_STARTUP_TIMEOUT = 30.0
KAFKA_TIMEOUT = 30.0
SETUP_TIMEOUT = 60.0

CRASH_EVENTS = 2000
CRASH_PUBLISHERS = 6
CRASH_KILLS_PER_ROLE = 3          # enrich, fanout and deliver each
CRASH_INGEST_KILLS = 2
# Enrich is the slow stage (a few events per second in a debug build on a small machine, slower as the
# story index grows), so the drain wait is long; it ends as soon as every accepted event has arrived.
CRASH_DRAIN_TIMEOUT = 360.0
BROKER_FAULT_EVENTS = 300
BROKER_DOWN_SECONDS = 8.0


# --- small helpers -----------------------------------------------------------------------------


def describe(response: requests.Response) -> str:
    return describe_response(response, limit=1500)


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def call(base_url: str, method: str, path: str, key: str | None, expected: int, **kwargs) -> dict:
    headers = {**bearer(key), **(kwargs.pop("headers", None) or {})}
    response = requests.request(method, base_url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)
    assert response.status_code == expected, describe(response)
    return response.json() if response.content else {}


_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def made_up_words(rng: random.Random, count: int, used: set[str]) -> list[str]:
    """Words no gazetteer knows and no other headline of the run shares, so each headline is its own story."""
    words = []
    while len(words) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(4))
        if word not in used:
            used.add(word)
            words.append(word.capitalize() if not words else word)
    return words


def distinct_headlines(count: int, label: str) -> list[str]:
    rng, used = random.Random(uuid.uuid4().int), set()
    return [f"{' '.join(made_up_words(rng, 6, used))} ({label} {number})" for number in range(count)]


# --- the webhook receiver ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def event_id(self) -> str | None:
        try:
            return json.loads(self.body)["event"]["id"]
        except (ValueError, KeyError, TypeError):
            return None


def is_notice(body: bytes) -> bool:
    try:
        return json.loads(body).get("type") == "notice"
    except (ValueError, AttributeError):
        return False


class Receiver:
    """Webhook endpoint on 127.0.0.1: records every request; scripted replies per path (the last one repeats)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.scripts: dict[str, list[Reply]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                # A `notice` (another channel of the subscriber was disabled) is accepted without taking a scripted
                # reply: the scripts describe how this endpoint answers the alerts under test.
                reply = Reply(200) if is_notice(body) else receiver.next_reply(self.path)
                with receiver.lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, reply.status))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="faults-receiver", daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply | int) -> None:
        with self.lock:
            self.scripts[path] = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    def next_reply(self, path: str) -> Reply:
        with self.lock:
            script = self.scripts.get(path)
            if not script:
                return Reply(200)
            return script.pop(0) if len(script) > 1 else script[0]

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path and not is_notice(r.body)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


# --- Kafka, read by confluent-kafka ------------------------------------------------------------


@dataclass
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def json(self):
        return json.loads(self.value)


def read_topic(bootstrap: str, topic: str, timeout: float = KAFKA_TIMEOUT) -> list[Record]:
    """Every record of ``topic`` up to the high watermarks at the time of the call (assign, no group join)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faults-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {}
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[partition] = high
        records: list[Record] = []
        if not ends:
            return records
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in ends])
        positions = {partition: -1 for partition in ends}
        deadline = time.monotonic() + timeout
        while any(positions[p] + 1 < ends[p] for p in ends):
            if time.monotonic() > deadline:
                pytest.fail(f"reading {topic}: did not reach the end within {timeout:.0f} s "
                            f"(at {positions}, ends {ends}, {len(records)} records)")
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            positions[message.partition()] = message.offset()
            headers = {k: v for k, v in (message.headers() or [])}
            records.append(Record(message.partition(), message.offset(), message.key(), message.value(), headers))
        return records
    finally:
        consumer.close()


def changelog_has(bootstrap: str, keys: list[str]) -> bool:
    found = {record.key.decode() for record in read_topic(bootstrap, CHANGELOG) if record.key}
    return all(key in found for key in keys)


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faults-md-{uuid.uuid4().hex[:8]}"})
    try:
        return {p: m.leader for p, m in consumer.list_topics(topic, timeout=10).topics[topic].partitions.items()}
    finally:
        consumer.close()


def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` the consumer group has not committed yet (a group without commits lags by everything)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        lag = 0
        for position in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, position.partition), timeout=10)
            lag += high - (position.offset if position.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def pipeline_lag(bootstrap: str) -> dict[str, int]:
    return {"enrich": group_lag(bootstrap, "newsalert-enrich", EVENTS), "fanout": group_lag(bootstrap, "newsalert-fanout", ENRICHED),
            "deliver": group_lag(bootstrap, "newsalert-deliver-webhook", WEBHOOK_ALERTS)}


# --- the roles as separate processes -----------------------------------------------------------


@dataclass
class Role:
    name: str
    argv: list[str]
    data_dir: Path
    port: int | None
    process: BackgroundProcess | None = None
    starts: int = 0
    kills: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Pipeline:
    """broker → ingest → enrich → fanout → deliver(webhook), one process per role, each with its own data dir."""

    def __init__(self, spawn, newsalert_bin: Path, bootstrap: str, workdir: Path):
        self.spawn, self.bootstrap = spawn, bootstrap
        common = ["--bootstrap-servers", bootstrap]
        self.roles: dict[str, Role] = {}
        for name, args, has_port in [
            ("ingest", ["ingest", "--webhook-allow", "127.0.0.1/32"], True),
            ("enrich", ["enrich"], False),
            ("fanout", ["fanout"], True),
            ("deliver", ["deliver", "--channel", "webhook", "--webhook-allow", "127.0.0.1/32",
                         "--retry-delays", RETRY_DELAYS, "--webhook-timeout", f"{WEBHOOK_TIMEOUT:g}"], True),
        ]:
            data_dir = workdir / f"{name}-data"
            data_dir.mkdir(parents=True, exist_ok=True)
            port = free_port() if has_port else None
            argv = [os.fspath(newsalert_bin), *args, *common, "--data-dir", os.fspath(data_dir)]
            if port:
                argv += ["--port", str(port)]
            self.roles[name] = Role(name, argv, data_dir, port)
        ingest_dir = self.roles["ingest"].data_dir
        self.admin_key = create_api_key(newsalert_bin, ingest_dir, "admin")
        self.editor_key = create_api_key(newsalert_bin, ingest_dir, "editor")
        # The delivery log lives in the deliver node's database: a key there to read it over its API.
        self.deliver_admin_key = create_api_key(newsalert_bin, self.roles["deliver"].data_dir, "admin")
        self.lock = threading.Lock()

    @property
    def ingest_url(self) -> str:
        return self.roles["ingest"].base_url

    def start(self, name: str) -> None:
        role = self.roles[name]
        role.starts += 1
        role.process = self.spawn(role.argv, name=f"{name}")
        if role.port is None:
            time.sleep(0.3)
            assert role.process.running(), role.process.describe()
            return
        deadline = time.monotonic() + ROLE_STARTUP_TIMEOUT
        while True:
            if not role.process.running():
                pytest.fail(f"{name} exited during start\n{role.process.describe()}")
            try:
                if requests.get(role.base_url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer /healthz within {ROLE_STARTUP_TIMEOUT:.0f} s\n{role.process.describe()}")
            time.sleep(0.1)

    def start_all(self) -> None:
        for name in self.roles:
            self.start(name)

    def kill9(self, name: str) -> None:
        role = self.roles[name]
        assert role.process is not None and role.process.running(), f"{name} was not running:\n{role.process.describe()}"
        os.kill(role.process.pid, signal.SIGKILL)
        role.process.popen.wait(timeout=10)
        role.kills += 1

    def check_running(self) -> None:
        for role in self.roles.values():
            assert role.process is not None and role.process.running(), f"{role.name} died on its own:\n{role.process.describe()}"

    def stop_all(self) -> None:
        for role in reversed(list(self.roles.values())):
            if role.process is not None:
                role.process.stop()

    def logs(self, name: str, limit: int = 3000) -> str:
        role = self.roles[name]
        return role.process.describe()[-limit:] if role.process else "(not started)"

    def new_subscriber(self, receiver: Receiver, label: str, rule: dict, paths: list[str]) -> dict:
        """Admin makes a subscriber and token; the token a webhook channel per path and a subscription. Returns
        once fanout's and deliver's replicas have applied every one of them (as their data dirs show)."""
        url = self.ingest_url
        subscriber = call(url, "POST", "/v1/subscribers", self.admin_key, 201, json={"name": f"{label} desk", "time_zone": "UTC"})
        subscriber_id = subscriber["subscriber_id"]
        token = call(url, "POST", f"/v1/subscribers/{subscriber_id}/tokens", self.admin_key, 201)["token"]
        channels = {path: call(url, "POST", "/v1/channels", token, 201, json={"kind": "webhook", "url": receiver.url(path)})
                    for path in paths}
        subscription = call(url, "POST", "/v1/subscriptions", token, 201, json={"name": label, "rule": rule})
        keys = [subscriber_id, subscription["subscription_id"], *(c["id"] for c in channels.values())]
        for name in ("fanout", "deliver"):
            self.wait_for_replica(name, keys)
        return {"id": subscriber_id, "token": token, "channels": channels, "subscription": subscription}

    def wait_for_replica(self, name: str, keys: list[str], timeout: float = SETUP_TIMEOUT) -> None:
        binary, data_dir = self.roles[name].argv[0], self.roles[name].data_dir
        deadline = time.monotonic() + timeout
        while True:
            dump = subprocess.run([binary, "subscriptions", "dump", "--data-dir", os.fspath(data_dir)],
                                  capture_output=True, text=True, timeout=30)
            held = {line.split("\t", 1)[0] for line in dump.stdout.splitlines() if "\t" in line}
            if all(key in held for key in keys):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"{name}'s replica did not get {keys} within {timeout:.0f} s (holds {sorted(held)})\n{self.logs(name)}")
            time.sleep(0.3)


# --- publishing with retries -------------------------------------------------------------------


@dataclass
class Outcome:
    idempotency_key: str
    headline: str
    event_id: str | None = None
    status: int | None = None
    attempts: int = 0
    replayed: bool = False
    retried_on: list[str] = field(default_factory=list)
    error: str | None = None


def publish(base_url: Callable[[], str], key: str, headline: str, idempotency_key: str, deadline: float,
            in_progress_patience: float = 30.0) -> Outcome:
    """POST /v1/events, retried with the same Idempotency-Key on connection errors, timeouts, 503 and
    409 idempotency_key_in_progress, until accepted or ``deadline``."""
    outcome = Outcome(idempotency_key, headline)
    body = {"kind": "breaking", "headline": headline}
    in_progress_since = None
    while True:
        outcome.attempts += 1
        try:
            response = requests.post(base_url() + "/v1/events", json=body, timeout=HTTP_TIMEOUT,
                                     headers={**bearer(key), "Idempotency-Key": idempotency_key})
        except requests.RequestException as error:
            outcome.retried_on.append(type(error).__name__)
        else:
            outcome.status = response.status_code
            if response.status_code == 202:
                outcome.event_id = response.json()["id"]
                outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
                return outcome
            if response.status_code == 409 and error_code(response) == "idempotency_key_in_progress":
                in_progress_since = in_progress_since or time.monotonic()
                outcome.retried_on.append("409 in_progress")
                if time.monotonic() - in_progress_since > in_progress_patience:
                    outcome.error = f"409 idempotency_key_in_progress for {in_progress_patience:.0f} s: {response.text[:300]}"
                    return outcome
            elif response.status_code in (502, 503, 504):
                outcome.retried_on.append(str(response.status_code))
            else:
                outcome.error = describe(response)
                return outcome
        if time.monotonic() > deadline:
            outcome.error = outcome.error or f"gave up at the deadline after {outcome.attempts} attempts ({outcome.retried_on[-3:]})"
            return outcome
        time.sleep(0.25)


def publish_all(base_url: Callable[[], str], key: str, headlines: list[str], workers: int, deadline: float,
                progress: list[int] | None = None) -> list[Outcome]:
    run = uuid.uuid4().hex[:8]

    def one(item: tuple[int, str]) -> Outcome:
        number, headline = item
        outcome = publish(base_url, key, headline, f"faults-{run}-{number}", deadline)
        if progress is not None:
            progress[0] += 1
        return outcome

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enumerate(headlines)))


# --- the pipeline's fixtures -------------------------------------------------------------------


@pytest.fixture
def pipeline(spawn, start_broker, newsalert_bin, tmp_path) -> Iterator[Pipeline]:
    broker = start_broker()
    pipeline = Pipeline(spawn, newsalert_bin, broker.bootstrap_servers, tmp_path)
    pipeline.start_all()
    yield pipeline
    pipeline.stop_all()


def check_everything_arrived(pipeline: Pipeline, receiver: Receiver, path: str, accepted: dict[str, str],
                             timeout: float) -> tuple[set[str], float]:
    """Waits (bounded) until an alert about every accepted event id reached ``path``; returns what is still
    missing at the end (empty when nothing was lost) and how long the wait took."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        got = {r.event_id for r in receiver.requests_to(path)}
        missing = set(accepted) - got
        if not missing or time.monotonic() > deadline:
            return missing, time.monotonic() - started
        time.sleep(0.5)


def topic_coverage(bootstrap: str, accepted: set[str]) -> dict[str, dict]:
    """Which accepted event ids each topic on the way carries."""
    coverage = {}
    events = read_topic(bootstrap, EVENTS)
    ids_events = [r.key.decode() for r in events if r.key]
    enriched = [r.json() for r in read_topic(bootstrap, ENRICHED)]
    ids_enriched = [m["event"]["id"] for m in enriched]
    alerts = [r.json() for r in read_topic(bootstrap, WEBHOOK_ALERTS)]
    ids_alerts = [a["event"]["id"] for a in alerts]
    for topic, ids in [(EVENTS, ids_events), (ENRICHED, ids_enriched), (WEBHOOK_ALERTS, ids_alerts)]:
        present = set(ids) & accepted
        coverage[topic] = {"records": len(ids), "accepted_present": len(present), "missing": sorted(accepted - present)[:20],
                           "missing_count": len(accepted - present), "records_of_accepted": sum(1 for i in ids if i in accepted)}
    coverage["_events_records"] = events
    coverage["_alerts"] = alerts
    return coverage


# --- 1. crash test -----------------------------------------------------------------------------


def test_sigkilled_roles_lose_nothing(pipeline: Pipeline, receiver: Receiver, tmp_path: Path):
    path = "/hook/crash"
    subscriber = pipeline.new_subscriber(receiver, "crash", {"all": True}, [path])
    headlines = distinct_headlines(CRASH_EVENTS, "crash")
    publishing_done = threading.Event()
    killer_log: list[str] = []
    killer_errors: list[str] = []
    started = time.monotonic()

    def killer() -> None:
        rng = random.Random(7)
        plan = []
        for round_ in range(CRASH_KILLS_PER_ROLE):
            # Ingest only while the newsroom is still posting (the first two rounds): killing it later tests nothing.
            plan += (["ingest"] if round_ < CRASH_INGEST_KILLS else []) + ["enrich", "fanout", "deliver"]
        try:
            for name in plan:
                time.sleep(rng.uniform(3.0, 5.0))
                pipeline.kill9(name)
                killer_log.append(f"{time.monotonic() - started:6.1f}s kill -9 {name}")
                time.sleep(0.3)
                pipeline.start(name)
                killer_log.append(f"{time.monotonic() - started:6.1f}s {name} restarted")
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            killer_errors.append(f"{type(error).__name__}: {error}")

    killer_thread = threading.Thread(target=killer, name="killer", daemon=True)
    killer_thread.start()
    progress = [0]
    outcomes = publish_all(lambda: pipeline.ingest_url, pipeline.editor_key, headlines, CRASH_PUBLISHERS,
                           deadline=time.monotonic() + 150, progress=progress)
    publishing_done.set()
    publish_seconds = time.monotonic() - started
    killer_thread.join(timeout=120)
    assert not killer_thread.is_alive(), "the killer thread did not finish"
    assert not killer_errors, f"killing/restarting failed: {killer_errors}\n" + "\n".join(killer_log)
    pipeline.check_running()

    accepted = {o.event_id: o.idempotency_key for o in outcomes if o.event_id}
    failed = [o for o in outcomes if not o.event_id]
    missing, drain_seconds = check_everything_arrived(pipeline, receiver, path, accepted, CRASH_DRAIN_TIMEOUT)
    lag_at_end = pipeline_lag(pipeline.bootstrap)
    if not missing:
        # Late duplicates, if any, are counted too: every stage has committed all it read (so no redelivery
        # is still on its way) before the receiver's requests are counted.
        wait_until(lambda: not any(pipeline_lag(pipeline.bootstrap).values()), CRASH_DRAIN_TIMEOUT, interval=0.5,
                   message="every stage to commit all it read")
    received = receiver.requests_to(path)
    missing = set(accepted) - {r.event_id for r in received}
    by_webhook_id: dict[str, list[Received]] = {}
    webhook_ids_by_event: dict[str, set[str]] = {}
    for request in received:
        by_webhook_id.setdefault(request.webhook_id, []).append(request)
        webhook_ids_by_event.setdefault(request.event_id, set()).add(request.webhook_id)
    duplicate_requests = len(received) - len(by_webhook_id)
    events_with_several_webhook_ids = {e: sorted(ids) for e, ids in webhook_ids_by_event.items() if len(ids) > 1}
    differing_bodies = [wid for wid, reqs in by_webhook_id.items() if len({r.body for r in reqs}) > 1]
    unaccepted_alerts = sorted({r.event_id for r in received} - set(accepted))

    coverage = topic_coverage(pipeline.bootstrap, set(accepted))
    events_records = coverage.pop("_events_records")
    coverage.pop("_alerts")
    # What became of the POSTs that never got their event id: did their Idempotency-Key reach news.events?
    keys_on_events = {}
    for record in events_records:
        key = record.headers.get("idempotency-key")
        if key:
            keys_on_events.setdefault(key.decode(), []).append(record.key.decode())
    failed_published = {o.idempotency_key: keys_on_events.get(o.idempotency_key) for o in failed if o.idempotency_key in keys_on_events}
    double_published = {k: ids for k, ids in keys_on_events.items() if len(set(ids)) > 1}
    republished_same_id = {k for k, ids in keys_on_events.items() if len(ids) > 1 and len(set(ids)) == 1}
    unanswered_ids = {event_id for ids in failed_published.values() for event_id in ids}
    unanswered_delivered = unanswered_ids & {r.event_id for r in received}

    counts = {
        "events_sent": len(headlines),
        "events_accepted": len(accepted),
        "posts_failed": len(failed),
        "posts_failed_but_on_news_events": len(failed_published),
        "posts_retried": sum(1 for o in outcomes if o.attempts > 1),
        "retry_reasons": {reason: sum(o.retried_on.count(reason) for o in outcomes)
                          for reason in sorted({r for o in outcomes for r in o.retried_on})},
        "idempotent_replays": sum(1 for o in outcomes if o.replayed),
        "idempotency_keys_published_twice": len(double_published),
        "idempotency_keys_republished_under_their_id": len(republished_same_id),
        "webhook_requests": len(received),
        "delivered_unique": len({r.event_id for r in received} & set(accepted)),
        "unique_webhook_ids": len(by_webhook_id),
        "duplicate_requests_same_webhook_id": duplicate_requests,
        "events_with_several_webhook_ids": len(events_with_several_webhook_ids),
        "webhook_ids_with_differing_bodies": len(differing_bodies),
        "alerts_for_unaccepted_events": len(unaccepted_alerts),
        "unanswered_events_delivered_anyway": len(unanswered_delivered),
        "not_delivered_at_end": len(missing),
        "consumer_lag_at_end": lag_at_end,
        "kills": {name: role.kills for name, role in pipeline.roles.items()},
        "publish_seconds": round(publish_seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "topics": {topic: {k: v for k, v in c.items() if k != "missing"} for topic, c in coverage.items()},
    }
    report = {"counts": counts, "killer": killer_log,
              "failed_posts": [o.__dict__ for o in failed][:20],
              "lost_event_ids": sorted(missing)[:50],
              "events_with_several_webhook_ids": dict(list(events_with_several_webhook_ids.items())[:20]),
              "idempotency_keys_published_twice": dict(list(double_published.items())[:20]),
              "topic_missing": {topic: c["missing"] for topic, c in coverage.items()}}
    (tmp_path / "crash-counts.json").write_text(json.dumps(report, indent=2, default=str))
    print("\ncrash test counts:", json.dumps(counts, indent=2))
    print("killer:", "; ".join(killer_log))
    print("written to", tmp_path / "crash-counts.json")

    problems = []
    if missing:
        problems.append(f"{len(missing)} accepted events had not reached the receiver after {drain_seconds:.0f} s, "
                        f"e.g. {sorted(missing)[:5]}; consumer lag then {lag_at_end} "
                        f"({'still queued, not lost' if any(lag_at_end.values()) else 'nothing queued: lost'})")
    for topic in (EVENTS, ENRICHED, WEBHOOK_ALERTS):
        if coverage[topic]["missing_count"]:
            problems.append(f"{topic} lacks {coverage[topic]['missing_count']} accepted events, e.g. {coverage[topic]['missing'][:3]}")
    if failed:
        problems.append(f"{len(failed)} POSTs never got an event id although {len(failed_published)} of them are on {EVENTS}: "
                        f"{[(o.idempotency_key, o.status, o.error) for o in failed[:3]]}")
    if double_published:
        problems.append(f"an Idempotency-Key was published under several event ids: {dict(list(double_published.items())[:5])}")
    if events_with_several_webhook_ids:
        problems.append(f"events delivered under several webhook-ids (a receiver cannot drop those duplicates): "
                        f"{dict(list(events_with_several_webhook_ids.items())[:5])}")
    if differing_bodies:
        problems.append(f"one webhook-id, different bodies: {differing_bodies[:5]}")
    if unaccepted_alerts:
        problems.append(f"alerts about events nobody published: {unaccepted_alerts[:5]}")
    assert not problems, "\n".join(problems) + f"\ncounts {json.dumps(counts)}"
    assert subscriber["id"]


# --- 2. broker fault ---------------------------------------------------------------------------


class MockCluster:
    """librdkafka's mock cluster in this process (through confluent-kafka's librdkafka), with the broker
    controls `newsalert broker` does not expose: take a broker down and up, move a partition's leader."""

    def __init__(self, brokers: int = 3):
        import confluent_kafka

        site = Path(confluent_kafka.__file__).resolve().parents[1]
        candidates = glob.glob(os.fspath(site / "confluent_kafka.libs" / "librdkafka*.so*"))
        if not candidates:
            pytest.fail("confluent-kafka's bundled librdkafka (with the mock cluster API) was not found")
        lib = ctypes.CDLL(candidates[0])
        for name in ("rd_kafka_mock_cluster_new", "rd_kafka_mock_broker_set_down", "rd_kafka_mock_partition_set_leader"):
            if not hasattr(lib, name):
                pytest.fail(f"this librdkafka has no {name}")
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        lib.rd_kafka_conf_new.restype = vp
        lib.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
        lib.rd_kafka_new.restype = vp
        lib.rd_kafka_new.argtypes = [ctypes.c_int, vp, cp, ctypes.c_size_t]
        lib.rd_kafka_mock_cluster_new.restype = vp
        lib.rd_kafka_mock_cluster_new.argtypes = [vp, ctypes.c_int]
        lib.rd_kafka_mock_cluster_bootstraps.restype = cp
        lib.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
        lib.rd_kafka_mock_cluster_destroy.argtypes = [vp]
        lib.rd_kafka_destroy.argtypes = [vp]
        lib.rd_kafka_mock_broker_set_down.argtypes = [vp, ctypes.c_int32]
        lib.rd_kafka_mock_broker_set_up.argtypes = [vp, ctypes.c_int32]
        lib.rd_kafka_mock_topic_create.argtypes = [vp, cp, ctypes.c_int, ctypes.c_int]
        lib.rd_kafka_mock_partition_set_leader.argtypes = [vp, cp, ctypes.c_int32, ctypes.c_int32]
        self.lib = lib
        error = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"log_level", b"3", error, 512)
        self.handle = lib.rd_kafka_new(0, conf, error, 512)
        assert self.handle, error.value
        self.cluster = lib.rd_kafka_mock_cluster_new(self.handle, brokers)
        assert self.cluster, "rd_kafka_mock_cluster_new failed"
        self.bootstrap_servers = lib.rd_kafka_mock_cluster_bootstraps(self.cluster).decode()

    def create_topic(self, name: str, partitions: int, replication_factor: int = 3) -> None:
        code = self.lib.rd_kafka_mock_topic_create(self.cluster, name.encode(), partitions, replication_factor)
        assert code == 0, f"creating {name}: error {code}"

    def set_broker(self, broker: int, up: bool) -> None:
        code = (self.lib.rd_kafka_mock_broker_set_up if up else self.lib.rd_kafka_mock_broker_set_down)(self.cluster, broker)
        assert code == 0, f"broker {broker} {'up' if up else 'down'}: error {code}"

    def set_leader(self, topic: str, partition: int, broker: int) -> None:
        code = self.lib.rd_kafka_mock_partition_set_leader(self.cluster, topic.encode(), partition, broker)
        assert code == 0, f"leader of {topic}[{partition}] -> {broker}: error {code}"

    def destroy(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self.cluster)
        self.lib.rd_kafka_destroy(self.handle)


def newsalert_topics() -> dict[str, int]:
    """Topic name -> partitions, from schemas/asyncapi.yaml's Kafka bindings."""
    channels = load_schema("asyncapi.yaml")["channels"]
    return {c["bindings"]["kafka"]["topic"]: c["bindings"]["kafka"]["partitions"] for c in channels.values()
            if c.get("bindings", {}).get("kafka", {}).get("topic")}


@pytest.fixture
def mock_cluster() -> Iterator[MockCluster]:
    cluster = MockCluster(3)
    for topic, partitions in newsalert_topics().items():
        cluster.create_topic(topic, partitions)
    yield cluster
    cluster.destroy()


def test_partition_leader_down_and_up_loses_nothing(mock_cluster: MockCluster, spawn, newsalert_bin, receiver, tmp_path):
    pipeline = Pipeline(spawn, newsalert_bin, mock_cluster.bootstrap_servers, tmp_path)
    try:
        pipeline.start_all()
        path = "/hook/broker"
        pipeline.new_subscriber(receiver, "broker", {"all": True}, [path])
        before = leaders(mock_cluster.bootstrap_servers, EVENTS)
        counts_by_broker: dict[int, int] = {}
        for broker in before.values():
            counts_by_broker[broker] = counts_by_broker.get(broker, 0) + 1
        victim = max(counts_by_broker, key=counts_by_broker.get)
        survivor = next(b for b in sorted(counts_by_broker) if b != victim)
        led = sorted(p for p, b in before.items() if b == victim)

        headlines = distinct_headlines(BROKER_FAULT_EVENTS, "broker")
        progress = [0]
        timeline: list[str] = []
        started = time.monotonic()

        def fault() -> None:
            # Phase 1: the leader of news.events partitions goes down and comes back (no leader change).
            while progress[0] < BROKER_FAULT_EVENTS // 4 and time.monotonic() - started < 60:
                time.sleep(0.05)
            mock_cluster.set_broker(victim, up=False)
            timeline.append(f"{time.monotonic() - started:5.1f}s broker {victim} down (leads {EVENTS} {led}) at {progress[0]} posted")
            time.sleep(BROKER_DOWN_SECONDS)
            mock_cluster.set_broker(victim, up=True)
            timeline.append(f"{time.monotonic() - started:5.1f}s broker {victim} up at {progress[0]} posted")
            # Phase 2: down again, and this time its partitions fail over to another broker, then it returns.
            time.sleep(3.0)
            mock_cluster.set_broker(victim, up=False)
            for topic in (EVENTS, ENRICHED, WEBHOOK_ALERTS):
                for partition, leader in leaders_cache[topic].items():
                    if leader == victim:
                        mock_cluster.set_leader(topic, partition, survivor)
            timeline.append(f"{time.monotonic() - started:5.1f}s broker {victim} down, its partitions moved to {survivor} at {progress[0]} posted")
            time.sleep(BROKER_DOWN_SECONDS)
            mock_cluster.set_broker(victim, up=True)
            timeline.append(f"{time.monotonic() - started:5.1f}s broker {victim} up at {progress[0]} posted")

        leaders_cache = {topic: leaders(mock_cluster.bootstrap_servers, topic) for topic in (EVENTS, ENRICHED, WEBHOOK_ALERTS)}
        fault_thread = threading.Thread(target=fault, name="broker-fault", daemon=True)
        fault_thread.start()
        # Slow enough that the fault happens while events flow: two publishers.
        outcomes = publish_all(lambda: pipeline.ingest_url, pipeline.editor_key, headlines, 2,
                               deadline=time.monotonic() + 120, progress=progress)
        fault_thread.join(timeout=60)
        assert not fault_thread.is_alive()
        pipeline.check_running()

        accepted = {o.event_id: o.idempotency_key for o in outcomes if o.event_id}
        failed = [o for o in outcomes if not o.event_id]
        missing, drain_seconds = check_everything_arrived(pipeline, receiver, path, accepted, 90.0)
        received = receiver.requests_to(path)
        several = {e: ids for e, ids in _webhook_ids_by_event(received).items() if len(ids) > 1}
        coverage = topic_coverage(pipeline.bootstrap, set(accepted))
        coverage.pop("_events_records"), coverage.pop("_alerts")
        counts = {"events_sent": len(headlines), "accepted": len(accepted), "failed": len(failed),
                  "retry_reasons": {r: sum(o.retried_on.count(r) for o in outcomes) for r in sorted({r for o in outcomes for r in o.retried_on})},
                  "webhook_requests": len(received), "delivered_unique": len({r.event_id for r in received} & set(accepted)),
                  "duplicate_requests": len(received) - len({r.webhook_id for r in received}),
                  "events_with_several_webhook_ids": len(several), "lost": len(missing), "drain_seconds": round(drain_seconds, 1),
                  "topics": {t: {k: v for k, v in c.items() if k != "missing"} for t, c in coverage.items()}}
        (tmp_path / "broker-fault-counts.json").write_text(json.dumps({"counts": counts, "timeline": timeline,
                                                                       "failed": [o.__dict__ for o in failed][:20]}, indent=2))
        print("\nbroker fault:", "; ".join(timeline))
        print("broker fault counts:", json.dumps(counts, indent=2))
        assert len(timeline) == 4, timeline
        assert not failed, f"POSTs never accepted: {[o.__dict__ for o in failed[:3]]}"
        for topic in (EVENTS, ENRICHED, WEBHOOK_ALERTS):
            assert coverage[topic]["missing_count"] == 0, f"{topic} lacks {coverage[topic]['missing']}"
        assert not missing, f"lost {len(missing)}: {sorted(missing)[:10]}\n" + "\n".join(pipeline.logs(n, 1500) for n in pipeline.roles)
        assert not several, f"events under several webhook-ids: {dict(list(several.items())[:5])}"
    finally:
        pipeline.stop_all()


def _webhook_ids_by_event(received: list[Received]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for request in received:
        result.setdefault(request.event_id, set()).add(request.webhook_id)
    return result


# --- 3. failing receivers ----------------------------------------------------------------------


def test_failing_receivers_end_states(pipeline: Pipeline, receiver: Receiver, tmp_path: Path):
    slow = Reply(200, delay=WEBHOOK_TIMEOUT + 1.5)
    scripts = {
        "/hook/turns": [500, slow, 200],       # 500, then a timeout, then accepted: delivered on attempt 3
        "/hook/always-500": [500],             # dead after the last retry
        "/hook/always-slow": [slow],           # dead after the last retry (each attempt times out)
        "/hook/gone": [410],                   # failed at once, channel disabled
    }
    for path, replies in scripts.items():
        receiver.script(path, *replies)
    tag = f"faults-{uuid.uuid4().hex[:8]}"
    subscriber = pipeline.new_subscriber(receiver, "receivers", {"tags": [tag]}, list(scripts))
    event = call(pipeline.ingest_url, "POST", "/v1/events", pipeline.editor_key, 202,
                 json={"kind": "breaking", "headline": "Kelomaru tivesa dunaporo village floods after the dam breaks", "tags": [tag]})
    event_id = event["id"]
    deliver_url = pipeline.roles["deliver"].base_url

    def deliveries(base_url: str, key: str) -> list[dict]:
        return call(base_url, "GET", f"/v1/deliveries?subscriber={subscriber['id']}", key, 200)["deliveries"]

    channel_path = {c["id"]: path for path, c in subscriber["channels"].items()}
    final = {"delivered", "dead", "failed"}
    deadline = time.monotonic() + 120
    while True:
        log = [d for d in deliveries(deliver_url, pipeline.deliver_admin_key) if d["alert"]["event"]["id"] == event_id]
        if len(log) == len(scripts) and all(d["state"] in final for d in log):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"deliveries did not reach a final state: {json.dumps(log)[:3000]}\n{pipeline.logs('deliver')}")
        time.sleep(0.5)
    states = {channel_path[d["alert"]["channel_id"]]: d for d in log}

    # Channel states, as the deliver node and (through subscriptions.changelog) the ingest node see them.
    gone_id = subscriber["channels"]["/hook/gone"]["id"]
    channels_on_deliver = {c["id"]: c for c in call(deliver_url, "GET", "/v1/channels", subscriber["token"], 200)["channels"]} \
        if requests.get(deliver_url + "/v1/channels", headers=bearer(subscriber["token"]), timeout=HTTP_TIMEOUT).status_code == 200 else None
    deadline = time.monotonic() + KAFKA_TIMEOUT
    while True:
        channels_on_ingest = {c["id"]: c for c in call(pipeline.ingest_url, "GET", "/v1/channels", subscriber["token"], 200)["channels"]}
        if channels_on_ingest[gone_id]["status"] == "disabled" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    ingest_log = requests.get(pipeline.ingest_url + f"/v1/deliveries?subscriber={subscriber['id']}",
                              headers=bearer(pipeline.admin_key), timeout=HTTP_TIMEOUT)

    letters = []
    for record in read_topic(pipeline.bootstrap, DEADLETTER):
        try:
            letter = record.json()
            original = json.loads(base64.b64decode(letter["original_value_base64"]))
        except (ValueError, KeyError, TypeError):
            continue
        if original.get("event", {}).get("id") == event_id:
            letters.append((channel_path.get(original.get("channel_id")), letter))

    summary = {
        path: {"state": d["state"], "attempts": [(a["outcome"], a.get("status_code"), (a.get("detail") or "")[:60]) for a in d["attempts"]],
               "requests_seen": [r.status for r in receiver.requests_to(path)]}
        for path, d in states.items()}
    summary["channels_on_ingest"] = {channel_path[i]: {"status": c["status"], "disabled_reason": c.get("disabled_reason")}
                                     for i, c in channels_on_ingest.items()}
    summary["channels_on_deliver"] = ({channel_path[i]: c["status"] for i, c in channels_on_deliver.items()}
                                      if channels_on_deliver is not None else "subscriber token not known to the deliver node")
    summary["deadletters"] = [(path, letter["stage"], letter["reason"][:120]) for path, letter in letters]
    summary["ingest_delivery_log"] = f"{ingest_log.status_code}: {len(ingest_log.json().get('deliveries', [])) if ingest_log.ok else ingest_log.text[:200]} deliveries"
    (tmp_path / "receiver-end-states.json").write_text(json.dumps(summary, indent=2))
    print("\nreceiver end states:", json.dumps(summary, indent=2))

    turns = states["/hook/turns"]
    assert turns["state"] == "delivered", turns
    assert [a["outcome"] for a in turns["attempts"]] == ["retry", "retry", "delivered"], turns["attempts"]
    assert turns["attempts"][0]["status_code"] == 500 and turns["attempts"][1].get("status_code") is None, turns["attempts"]
    for path in ("/hook/always-500", "/hook/always-slow"):
        dead = states[path]
        assert dead["state"] == "dead", dead
        assert [a["outcome"] for a in dead["attempts"]] == ["retry"] * MAX_ATTEMPTS, dead["attempts"]
        assert len(receiver.requests_to(path)) == MAX_ATTEMPTS
        assert [p for p, letter in letters if p == path and letter["stage"] == "deliver-webhook"], (
            f"no news.deadletter record for {path}: {summary['deadletters']}")
    gone = states["/hook/gone"]
    assert gone["state"] == "failed" and [(a["outcome"], a["status_code"]) for a in gone["attempts"]] == [("failed", 410)], gone
    assert len(receiver.requests_to("/hook/gone")) == 1
    assert channels_on_ingest[gone_id]["status"] == "disabled", (
        f"the ingest node does not show the 410 channel disabled: {channels_on_ingest[gone_id]}")
    assert all(c["status"] == "active" for i, c in channels_on_ingest.items() if i != gone_id), channels_on_ingest
    assert len({r.webhook_id for r in receiver.received if not is_notice(r.body)}) == len(scripts), "retries changed the webhook-id"
    # The subscriber was told about the disabled channel on one of its other channels.
    assert any(is_notice(r.body) for r in receiver.received), "no notice about the disabled channel"
    # The API node delivered nothing, yet its delivery log (from deliveries.log) shows the same outcomes.
    on_deliver = {d["id"]: (d["state"], len(d["attempts"])) for d in log}
    deadline = time.monotonic() + KAFKA_TIMEOUT
    while True:
        on_ingest = {d["id"]: (d["state"], len(d["attempts"])) for d in deliveries(pipeline.ingest_url, pipeline.admin_key)
                     if d["id"] in on_deliver}
        if on_ingest == on_deliver:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the ingest node's delivery log differs: {on_ingest} vs the deliver node's {on_deliver}")
        time.sleep(0.3)
    pipeline.check_running()


def test_a_stopped_deliverer_hands_its_retries_to_the_next(pipeline: Pipeline, receiver: Receiver, tmp_path: Path):
    # A deliverer stopped gracefully (a scale-down, a replaced pod) puts what waits for a retry back on
    # alerts.webhook; the next one, here with an empty data directory, carries on with the same schedule.
    deliver = pipeline.roles["deliver"]
    deliver.process.stop()
    retry_after = 6
    deliver.argv[deliver.argv.index("--retry-delays") + 1] = f"0,{retry_after}"
    pipeline.start("deliver")
    path = "/hook/handed-back"
    receiver.script(path, 500, 200)
    alert = OneAlert(pipeline, receiver, path, "hand-back", "Tobarike venumaso harbour closes as the storm nears")
    subscriber, event_id = alert.subscriber, alert.event_id
    delivery_id = alert.wait_for_requests(1, "the first attempt")[0].webhook_id
    deadline = time.monotonic() + SETUP_TIMEOUT
    while call(deliver.base_url, "GET", f"/v1/deliveries/{delivery_id}", pipeline.deliver_admin_key, 200)["state"] != "retrying":
        if time.monotonic() > deadline:
            pytest.fail(f"the first attempt was not recorded\n{pipeline.logs('deliver')}")
        time.sleep(0.1)
    assert deliver.process.stop() == 0, pipeline.logs("deliver")
    assert "handed back" in deliver.process.stderr(), f"the stopping deliverer handed nothing back\n{pipeline.logs('deliver')}"

    # The next deliverer: an empty disk, so all it knows of the retry is what came back on the topic.
    fresh = tmp_path / "deliver-fresh-data"
    fresh.mkdir()
    deliver.argv[deliver.argv.index("--data-dir") + 1] = os.fspath(fresh)
    deliver.data_dir = fresh
    deliver_key = create_api_key(Path(deliver.argv[0]), fresh, "admin")
    pipeline.start("deliver")
    pipeline.wait_for_replica("deliver", [subscriber["id"], subscriber["channels"][path]["id"]])
    first, second = alert.wait_for_requests(2, "the handed-back retry")[:2]
    assert (first.status, second.status) == (500, 200)
    assert first.webhook_id == second.webhook_id, "the handed-back retry changed the webhook-id"
    assert first.webhook_id == delivery_id

    # The log on deliveries.log: the new deliverer and the API node (which delivered nothing) both show the
    # delivery with the attempt each worker made, the schedule carried on from attempt 1.
    expected = [(1, "retry", 500), (2, "delivered", 200)]
    wait_for_delivery("deliver", deliver.base_url, deliver_key, delivery_id, "delivered", expected)
    wait_for_delivery("ingest", pipeline.ingest_url, pipeline.admin_key, delivery_id, "delivered", expected)
    event = call(pipeline.ingest_url, "GET", f"/v1/events/{event_id}", pipeline.editor_key, 200)
    assert [(d["id"], d["state"]) for d in event["deliveries"]] == [(delivery_id, "delivered")], event["deliveries"]
    assert (event["alerts_delivered"], event["alerts_by_channel"]) == (1, {"webhook": 1}), "the API node miscounts the alert"
    # Both workers' records end at attempt 2, delivered: a third request would be a third attempt in that log.
    assert len(alert.requests()) == 2, "the alert was delivered more than once after the hand-back"
    pipeline.check_running()


def test_any_node_replays_a_delivery_through_the_worker_that_holds_it(pipeline: Pipeline, receiver: Receiver):
    # The API node (ingest) holds no delivery: it knows them from deliveries.log. A replay asked of it goes
    # through alerts.webhook to the worker that owns the subscriber's partition, which sends the alert again.
    alert = OneAlert(pipeline, receiver, "/hook/replayed-from-the-api-node", "replay", "Sorvanto ferry service suspended until further notice")
    delivery_id = alert.wait_for_requests(1, "the alert")[0].webhook_id
    wait_for_delivery("ingest", pipeline.ingest_url, pipeline.admin_key, delivery_id, "delivered", [(1, "delivered", 200)])

    answer = call(pipeline.ingest_url, "POST", f"/v1/deliveries/{delivery_id}/replay", alert.subscriber["token"], 202)
    assert answer == {"id": delivery_id, "status": "replay scheduled"}
    original, replayed = alert.wait_for_requests(2, "the replay asked of the ingest node")[:2]
    assert replayed.webhook_id == original.webhook_id, "the replay changed the webhook-id"
    assert replayed.status == 200 and json.loads(replayed.body) == json.loads(original.body)

    # Both nodes show the delivery with the replay as attempt 2, and nothing was sent a third time.
    deliver = pipeline.roles["deliver"]
    deliver_key = create_api_key(Path(deliver.argv[0]), deliver.data_dir, "admin")
    expected = [(1, "delivered", 200), (2, "delivered", 200)]
    wait_for_delivery("deliver", deliver.base_url, deliver_key, delivery_id, "delivered", expected)
    wait_for_delivery("ingest", pipeline.ingest_url, pipeline.admin_key, delivery_id, "delivered", expected)
    # The worker's record ends at attempt 2, delivered: another send would be a third attempt in that log.
    assert len(alert.requests()) == 2, "the replay was sent more than once"
    pipeline.check_running()


class OneAlert:
    """A subscriber whose rule matches one fresh tag, and one event with that tag posted through ingest."""

    def __init__(self, pipeline: Pipeline, receiver: Receiver, path: str, label: str, headline: str) -> None:
        self.pipeline, self.receiver, self.path = pipeline, receiver, path
        tag = f"{label}-{uuid.uuid4().hex[:8]}"
        self.subscriber = pipeline.new_subscriber(receiver, label, {"tags": [tag]}, [path])
        self.event_id = call(pipeline.ingest_url, "POST", "/v1/events", pipeline.editor_key, 202,
                             json={"kind": "breaking", "headline": headline, "tags": [tag]})["id"]

    def requests(self) -> list[Received]:
        """The webhook requests about the event so far."""
        return [r for r in self.receiver.requests_to(self.path) if r.event_id == self.event_id]

    def wait_for_requests(self, count: int, what: str) -> list[Received]:
        deadline = time.monotonic() + SETUP_TIMEOUT
        while len(self.requests()) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} never came ({len(self.requests())} requests)\n{self.pipeline.logs('ingest')}\n{self.pipeline.logs('deliver')}")
            time.sleep(0.1)
        return self.requests()


def wait_for_delivery(node: str, base_url: str, key: str, delivery_id: str, state: str, attempts: list[tuple]) -> dict:
    """Polls a node's `GET /v1/deliveries/{id}` until it shows `state` with exactly these (attempt, outcome, status)."""
    deadline = time.monotonic() + KAFKA_TIMEOUT
    while True:
        response = requests.get(base_url + f"/v1/deliveries/{delivery_id}", headers=bearer(key), timeout=HTTP_TIMEOUT)
        delivery = response.json() if response.status_code == 200 else {}
        seen = [(a["attempt"], a["outcome"], a.get("status_code")) for a in delivery.get("attempts", [])]
        if delivery.get("state") == state and seen == attempts:
            return delivery
        if time.monotonic() > deadline:
            pytest.fail(f"{node} does not show delivery {delivery_id} {state} with attempts {attempts}: {json.dumps(delivery)[:2000]}")
        time.sleep(0.3)


# --- a newsalert serve for the API tests -------------------------------------------------------


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("faults-serve"),
                              ["--webhook-allow", "127.0.0.1/32", "--retry-delays", "0,1", "--webhook-timeout", "2"]) as server_:
        yield server_


@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def alive(server: NewsalertServer) -> None:
    assert server.process.running(), server.process.describe()
    response = requests.get(server.url("/healthz"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, describe(response)


# --- 4. auth matrix ----------------------------------------------------------------------------


MUTATING = {"post", "patch", "delete", "put"}
ADMIN_ONLY_PREFIX = "/v1/subscribers"
SUBSCRIBER_ONLY_PREFIXES = ("/v1/subscriptions", "/v1/channels")


def mutating_endpoints() -> list[tuple[str, str]]:
    paths = load_schema("openapi.yaml")["paths"]
    return sorted((method.upper(), path) for path, operations in paths.items() for method in operations if method in MUTATING)


@dataclass
class Party:
    id: str
    token: str
    channel_id: str
    subscription_id: str


@pytest.fixture(scope="module")
def parties(server: NewsalertServer, module_receiver: Receiver) -> dict:
    """Two subscribers (A, B), each with a webhook channel and a subscription; an event and A's delivery of it."""
    def party(label: str, tag: str) -> Party:
        sid = call(server.base_url, "POST", "/v1/subscribers", server.admin_key, 201, json={"name": f"{label} desk", "time_zone": "UTC"})["subscriber_id"]
        token = call(server.base_url, "POST", f"/v1/subscribers/{sid}/tokens", server.admin_key, 201)["token"]
        channel = call(server.base_url, "POST", "/v1/channels", token, 201, json={"kind": "webhook", "url": module_receiver.url(f"/auth/{label}")})
        subscription = call(server.base_url, "POST", "/v1/subscriptions", token, 201, json={"name": label, "rule": {"tags": [tag]}})
        return Party(sid, token, channel["id"], subscription["subscription_id"])

    tag = f"auth-{uuid.uuid4().hex[:8]}"
    a, b = party("a", tag), party("b", f"other-{tag}")
    event_id = call(server.base_url, "POST", "/v1/events", server.editor_key, 202,
                    json={"kind": "breaking", "headline": "Vorelani pasuto keribam council approves the harbour budget", "tags": [tag]})["id"]
    deadline = time.monotonic() + 60
    while True:
        mine = [d for d in call(server.base_url, "GET", f"/v1/deliveries?subscriber={a.id}", server.admin_key, 200)["deliveries"]
                if d["alert"]["event"]["id"] == event_id]
        if mine:
            break
        assert time.monotonic() < deadline, f"no delivery of {event_id} to A\n{server.process.describe()}"
        time.sleep(0.3)
    return {"a": a, "b": b, "event_id": event_id, "delivery_id": mine[0]["id"]}


def concrete(path: str, parties: dict) -> str:
    a = parties["a"]
    return (path.replace("/v1/events/{id}", f"/v1/events/{parties['event_id']}")
                .replace("/v1/subscribers/{id}", f"/v1/subscribers/{a.id}")
                .replace("/v1/subscriptions/{id}", f"/v1/subscriptions/{a.subscription_id}")
                .replace("/v1/channels/{id}", f"/v1/channels/{a.channel_id}")
                .replace("/v1/deliveries/{id}", f"/v1/deliveries/{parties['delivery_id']}"))


SAMPLE_BODIES = {
    "/v1/events": {"kind": "breaking", "headline": "Auth matrix probe"},
    "/v1/events/{id}/corrections": {"headline": "Auth matrix probe, corrected"},
    "/v1/events/{id}/kill": {"reason": "auth matrix probe"},
    "/v1/subscribers": {"name": "probe desk", "time_zone": "UTC"},
    "/v1/subscriptions": {"name": "probe", "rule": {"all": True}},
    "/v1/subscriptions/preview": {"rule": {"all": True}},
    "/v1/subscriptions/{id}": {"name": "renamed"},
    "/v1/channels": {"kind": "webhook", "url": "http://127.0.0.1:9/probe"},
}


def attempt(server: NewsalertServer, method: str, path: str, template: str, key: str | None) -> requests.Response:
    body = SAMPLE_BODIES.get(template)
    return requests.request(method, server.url(path), headers=bearer(key), timeout=HTTP_TIMEOUT,
                            **({"json": body} if body is not None else {}))


def test_auth_matrix(server: NewsalertServer, parties: dict, tmp_path: Path):
    endpoints = mutating_endpoints()
    assert len(endpoints) >= 15, endpoints
    a, b = parties["a"], parties["b"]
    matrix, wrong = [], []

    def expect(label: str, method: str, template: str, key: str | None, allowed: set[int]) -> None:
        path = concrete(template, parties)
        response = attempt(server, method, path, template, key)
        matrix.append(f"{label:<22} {method:<6} {template:<40} {response.status_code}")
        if response.status_code not in allowed:
            wrong.append(f"{label}: {method} {path} -> {response.status_code} (expected {sorted(allowed)}): {response.text[:300]}")
        elif response.status_code >= 400:
            try:
                assert response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError, AssertionError):
                wrong.append(f"{label}: {method} {path} -> {response.status_code} without a JSON error body: {response.text[:200]}")

    for method, template in endpoints:
        expect("no key", method, template, None, {401})
        expect("unknown key", method, template, "nak_" + uuid.uuid4().hex, {401})
        if template.startswith(ADMIN_ONLY_PREFIX):
            expect("editor key", method, template, server.editor_key, {403})
        if not template.startswith(SUBSCRIBER_ONLY_PREFIXES) and not template.startswith("/v1/deliveries"):
            expect("subscriber token", method, template, a.token, {401, 403})
        if template.startswith(SUBSCRIBER_ONLY_PREFIXES):
            expect("staff key on subscriber", method, template, server.admin_key, {401, 403})

    # Another subscriber's things: 404, as if they did not exist.
    for method, template in [("GET", "/v1/subscriptions/{id}"), ("PATCH", "/v1/subscriptions/{id}"),
                             ("DELETE", "/v1/subscriptions/{id}"), ("DELETE", "/v1/channels/{id}"),
                             ("POST", "/v1/channels/{id}/rotate-secret"), ("GET", "/v1/deliveries/{id}"),
                             ("POST", "/v1/deliveries/{id}/replay")]:
        expect("other subscriber", method, template, b.token, {404})
    others = requests.get(server.url(f"/v1/deliveries?subscriber={a.id}"), headers=bearer(b.token), timeout=HTTP_TIMEOUT)
    matrix.append(f"{'other subscriber':<22} GET    /v1/deliveries?subscriber=A              {others.status_code} "
                  f"({len(others.json().get('deliveries', [])) if others.ok else '-'} deliveries)")
    if others.status_code == 200:
        leaked = [d for d in others.json()["deliveries"] if d["alert"]["subscriber_id"] == a.id]
        if leaked:
            wrong.append(f"B's token lists A's deliveries: {leaked[:1]}")
    elif others.status_code not in (403, 404):
        wrong.append(f"B's token on GET /v1/deliveries?subscriber=A -> {others.status_code}")

    # A's things are untouched by all of that.
    subscription = call(server.base_url, "GET", f"/v1/subscriptions/{a.subscription_id}", a.token, 200)
    assert subscription.get("name") == "a", subscription
    assert a.channel_id in {c["id"] for c in call(server.base_url, "GET", "/v1/channels", a.token, 200)["channels"]}
    (tmp_path / "auth-matrix.txt").write_text("\n".join(matrix) + "\n")
    print("\nauth matrix:\n" + "\n".join(matrix))
    alive(server)
    assert not wrong, "\n".join(wrong)


# --- 5. hostile input --------------------------------------------------------------------------


def raw_request(server: NewsalertServer, data: bytes, timeout: float = 5.0) -> tuple[int | None, bytes]:
    """Sends raw bytes; returns (status, raw answer); status None when no HTTP answer came (the answer then
    says whether the server closed the connection or left it open until ``timeout``)."""
    host, port = server.base_url.split("//", 1)[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass
        chunks = []
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                answer = b"".join(chunks)
                if b"\r\n\r\n" in answer:
                    head, _, rest = answer.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None)
                    if length is not None and len(rest) >= length:
                        break
        except socket.timeout:
            if not chunks:
                return None, f"(no answer; connection still open after {timeout:g} s)".encode()
        except ConnectionResetError:
            if not chunks:
                return None, b"(connection reset, no answer)"
    answer = b"".join(chunks)
    if not answer.startswith(b"HTTP/"):
        return None, answer or b"(connection closed, no answer)"
    return int(answer.split(b" ", 2)[1]), answer


def test_hostile_input_is_refused_without_5xx(server: NewsalertServer, tmp_path: Path):
    key = server.editor_key
    url = server.url("/v1/events")
    results, wrong = [], []

    def check(label: str, response: requests.Response | None, allowed: set[int], error: str | None = None) -> None:
        if response is None:
            results.append(f"{label:<40} no HTTP answer ({error})")
            wrong.append(f"{label}: no HTTP answer ({error})")
            return
        body = response.content
        results.append(f"{label:<40} {response.status_code} {body[:160]!r}")
        if response.status_code >= 500:
            wrong.append(f"{label}: {response.status_code} {body[:300]!r}")
        elif response.status_code not in allowed:
            wrong.append(f"{label}: {response.status_code} (expected {sorted(allowed)}) {body[:300]!r}")
        if response.status_code >= 400:
            try:
                problem = response.json()["error"]
                assert problem["code"] and problem["message"]
            except (ValueError, KeyError, TypeError, AssertionError):
                wrong.append(f"{label}: error body is not a JSON error naming the problem: {body[:300]!r}")
        assert server.process.running(), f"the server died after {label}\n{server.process.describe()}"

    def post(label: str, data: bytes | None = None, allowed: set[int] = frozenset({400}), content_type: str | None = "application/json",
             headers: dict | None = None, **kwargs) -> requests.Response | None:
        all_headers = {**bearer(key), **({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        try:
            response = requests.post(url, data=data, headers=all_headers, timeout=60, **kwargs)
        except requests.RequestException as error:
            check(label, None, set(allowed), f"{type(error).__name__}: {str(error)[:200]}")
            return None
        check(label, response, set(allowed))
        return response

    post("invalid UTF-8", b'{"kind": "breaking", "headline": "caf\xc3\x28 \xff\xfe"}')
    post("lone surrogate escape", b'{"kind": "breaking", "headline": "\\ud800 x"}', allowed={202, 400, 422})
    post("10 MB body", b'{"kind": "breaking", "headline": "' + b"a" * (10 * 1024 * 1024) + b'"}', allowed={413})
    post("100k nested [", b"[" * 100_000, allowed={400})
    post("50k nested {\"a\":", b'{"a":' * 50_000, allowed={400})
    post("not JSON", b"<xml/>")
    post("JSON array", b"[]")
    post("empty body", b"")
    post("NUL bytes", b'{"kind": "breaking", "headline": "a\x00b"}', allowed={400})
    post("text/plain", b'{"kind": "breaking", "headline": "x"}', content_type="text/plain", allowed={415})
    post("form encoded", b"kind=breaking&headline=x", content_type="application/x-www-form-urlencoded", allowed={415})
    post("multipart", b"--b\r\n\r\nx\r\n--b--", content_type="multipart/form-data; boundary=b", allowed={415})
    # Without a Content-Type the body is taken as JSON (lenient, not what the contract's 415 says).
    post("no content type", b'{"kind": "breaking", "headline": "x"}', content_type=None, allowed={202, 415})
    post("json; charset=latin1", b'{"kind": "breaking", "headline": "x"}', content_type="application/json; charset=iso-8859-1",
         allowed={202, 400, 415})
    post("huge number", b'{"kind": "breaking", "headline": "x", "urgency": 1' + b"0" * 5000 + b"}", allowed={400, 422})
    post("10k unknown fields", json.dumps({"kind": "breaking", "headline": "x", **{f"f{i}": i for i in range(10_000)}}).encode(),
         allowed={413, 422})
    post("bad Idempotency-Key", json.dumps({"kind": "breaking", "headline": "x"}).encode(), headers={"Idempotency-Key": "k" * 500})

    # Huge headers, over raw sockets (HTTP clients refuse to send some of them).
    host = server.base_url.split("//", 1)[1]
    for label, extra in [("64 KB header", b"X-Filler: " + b"a" * 65536 + b"\r\n"),
                         ("1 MB header", b"X-Filler: " + b"a" * (1024 * 1024) + b"\r\n"),
                         ("5,000 headers", b"".join(b"X-H%d: v\r\n" % i for i in range(5000))),
                         ("64 KB Authorization", b"Authorization: Bearer " + b"a" * 65536 + b"\r\n")]:
        body = b'{"kind": "breaking", "headline": "x"}'
        request = (b"POST /v1/events HTTP/1.1\r\nHost: " + host.encode() + b"\r\nAuthorization: Bearer " + key.encode()
                   + b"\r\nContent-Type: application/json\r\n" + extra + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        if label == "64 KB Authorization":
            request = request.replace(b"Authorization: Bearer " + key.encode() + b"\r\n", b"", 1)
        status, answer = raw_request(server, request)
        results.append(f"{label:<40} {status} {answer[:160]!r}")
        if status is not None and status >= 500:
            wrong.append(f"{label}: {status} {answer[:300]!r}")
        assert server.process.running(), f"the server died after {label}\n{server.process.describe()}"
    for label, raw in [("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200)),
                       ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
                       ("bad chunked encoding", b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode()
                        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")]:
        status, answer = raw_request(server, raw)
        results.append(f"{label:<40} {status} {answer[:160]!r}")
        if status is not None and status >= 500:
            wrong.append(f"{label}: {status} {answer[:300]!r}")
        assert server.process.running(), f"the server died after {label}\n{server.process.describe()}"

    # Accepted but dangerous content: kept verbatim in JSON, never live markup in served pages.
    script = "<script>alert('x')</script>"
    dot = "first line\r\n.\r\nMAIL FROM:<evil@example.invalid>\r\n"
    accepted = {}
    for label, body in [("<script> headline", {"kind": "breaking", "headline": f"Harbour {script} reopens"}),
                        ("CRLF.CRLF in fields", {"kind": "article", "headline": "Dot line test " + dot.replace("\r\n", " "),
                                                 "summary": dot, "body": dot * 3, "byline": "By x\r\n.\r\n"}),
                        ("<img onerror> tag", {"kind": "breaking", "headline": "Quay <img src=x onerror=alert(1)> opens",
                                               "tags": ["<b>bold</b>"]})]:
        response = post(label, json.dumps(body).encode(), allowed={202, 422})
        if response is not None and response.status_code == 202:
            accepted[label] = (response.json()["id"], body)
    for label, (event_id, body) in accepted.items():
        view = call(server.base_url, "GET", f"/v1/events/{event_id}", key, 200)
        for name, value in body.items():
            if name != "kind" and isinstance(value, str):
                results.append(f"  stored {label}/{name}: {view['event'].get(name)!r}"[:200])
    listing = requests.get(server.url("/v1/events?limit=50"), headers=bearer(key), timeout=HTTP_TIMEOUT)
    assert listing.status_code == 200 and listing.headers.get("content-type", "").startswith("application/json"), describe(listing)
    # Served as application/json; whether `<` is also escaped as \u003c and nosniff is set is recorded, not required.
    results.append(f"GET /v1/events: {listing.headers.get('content-type')}; raw bytes contain <script>: {b'<script>' in listing.content}; "
                   f"X-Content-Type-Options: {listing.headers.get('x-content-type-options')}")
    if "<script> headline" in accepted:
        headlines = [item.get("event", item).get("headline") for item in listing.json().get("events", [])]
        assert any(script in (h or "") for h in headlines), f"the <script> headline is not listed verbatim: {headlines[:5]}"
    for page in ("/", "/newsroom"):
        response = requests.get(server.url(page), timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, describe(response)
        results.append(f"GET {page}: {response.headers.get('content-type')} CSP={response.headers.get('content-security-policy')!r}")
        for needle in (script, "onerror=alert", "MAIL FROM:<evil"):
            if needle in response.text:
                wrong.append(f"GET {page} serves the raw {needle!r}")
    for asset in ("/assets/newsroom.js", "/assets/ticker.js"):
        text = requests.get(server.url(asset), timeout=HTTP_TIMEOUT).text
        results.append(f"{asset}: .innerHTML uses {text.count('.innerHTML')}, .textContent uses {text.count('.textContent')}")

    (tmp_path / "hostile-input.txt").write_text("\n".join(results) + "\n")
    print("\nhostile input:\n" + "\n".join(results))
    alive(server)
    assert not wrong, "\n".join(wrong)
