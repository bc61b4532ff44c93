"""Records the embedded broker deleted before anyone read them (issue 14).

The embedded Kafka cluster (librdkafka's mock cluster, as ``newsalert broker`` runs it) keeps about 5 MiB per
partition and silently deletes older records; it does not compact. Nobody can get those records back, but every
consumer must notice and say so instead of carrying on as if nothing had happened:

1. A fresh ``newsalert fanout`` (empty data directory) on a ``subscriptions.changelog`` whose beginning is gone
   would build a partial copy of the subscriptions. It must answer ``/readyz`` 503 naming the changelog replica
   (or, which the issue also accepts, be ready with every live subscription), log the lost range as an ERROR,
   count it on ``/metrics`` and in ``/readyz``'s ``records_lost``. The API node that made the changes read each of
   them before the log lost it (read-your-writes) and stays ready with nothing lost.
2. A work group (``newsalert enrich``) whose committed position on a news.events partition fell behind the
   retained log reports the records it will never read (log line, metric, ``/readyz``) and stays ready: a
   lagging work group is reported, not blocked.

Both run against ``newsalert broker`` in its own process and roles started with ``--bootstrap-servers``.
Every wait is bounded; the sizes written are printed (run with ``-s``).
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import BackgroundProcess, create_api_key, free_port, run_command, wait_until
from conftest import describe as describe_response

CHANGELOG, EVENTS = "subscriptions.changelog", "news.events"
ENRICH_GROUP = "newsalert-enrich"
LOSS_MESSAGE = "records lost: never read, no longer in the log"
MIB = 1024 * 1024
HTTP_TIMEOUT = 20.0
STARTUP_TIMEOUT = 45.0        # a role listens (and has joined the cluster) within this
LOSS_TIMEOUT = 60.0           # a started consumer has fetched, noticed and reported a loss within this
COMMIT_TIMEOUT = 60.0         # the enrich group's first join takes a few seconds; its commits follow at once
WRITE_BUDGET = 120.0          # the subscription changes that overflow a changelog partition must fit in this

# Test 1: one subscriber; QUIET subscriptions made first and never changed (their only records are at the start
# of the changelog's partitions), BUSY ones changed over and over with rules near the contract's limits (64 tags
# and 64 entities of 128 characters, 500 characters of keywords: ~17 KB a record) until a partition overflows.
QUIET_SUBSCRIPTIONS = 6
BUSY_SUBSCRIPTIONS = 6
PATCH_WORKERS = 4
PATCHES_PER_ROUND = 120       # the watermarks are looked at after each round
MAX_PATCHES = 4000            # ~65 MiB: far more than 3 partitions x 5 MiB need

# Test 2: what is written to one news.events partition while enrich is away.
FILLER_RECORDS = 70
FILLER_BYTES = 100 * 1024     # 70 x 100 KiB = 7 MiB > the ~5 MiB a partition keeps
EVENTS_PARTITION = 5


# --- small helpers -----------------------------------------------------------------------------


def watermarks(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """(first retained offset, next offset) of every partition of ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                for partition in sorted(partitions)}
    finally:
        consumer.close()


def retained(bootstrap: str, topic: str) -> tuple[dict[int, int], set[str]]:
    """Bytes of the record values the cluster still holds, by partition, and the keys among them (read with kcat)."""
    result = run_command(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %S %k\n"],
                         timeout=60)
    assert result.returncode == 0, f"kcat -C failed ({result.returncode}):\n{result.stderr[-2000:]}"
    sizes: dict[int, int] = {}
    keys: set[str] = set()
    for line in result.stdout.splitlines():
        partition, size, *key = line.split()
        sizes[int(partition)] = sizes.get(int(partition), 0) + max(0, int(size))
        keys.update(key)
    return sizes, keys


def committed_offset(bootstrap: str, group: str, topic: str, partition: int) -> int:
    """The group's committed offset (next record to read) on topic[partition]; negative when none."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return consumer.committed([TopicPartition(topic, partition)], timeout=10)[0].offset
    finally:
        consumer.close()


@dataclass
class Loss:
    """One `records lost` ERROR line, by its metadata."""

    line: str
    topic: str
    partition: int
    first: int
    last: int
    count: int
    group: str
    kind: str


def logged_losses(process: BackgroundProcess) -> list[Loss]:
    """Every `records lost` line on the process' stderr (text log format: `key=value` metadata)."""
    losses = []
    for line in process.stderr().splitlines():
        if LOSS_MESSAGE not in line:
            continue
        fields = dict(re.findall(r"(kafka\.[a-z.]+)=(\S+)", line))
        try:
            losses.append(Loss(line=line, topic=fields["kafka.topic"], partition=int(fields["kafka.partition"]),
                               first=int(fields["kafka.lost.first"]), last=int(fields["kafka.lost.last"]),
                               count=int(fields["kafka.lost.count"]), group=fields["kafka.group"], kind=fields["kafka.loss"]))
        except (KeyError, ValueError):
            pytest.fail(f"a `{LOSS_MESSAGE}` line without the documented metadata:\n{line}\n{process.describe()}")
    return losses


def get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException:
        return None


def readiness(base_url: str) -> tuple[int, dict]:
    response = requests.get(base_url + "/readyz", timeout=HTTP_TIMEOUT)
    assert response.status_code in (200, 503), describe_response(response)
    return response.status_code, response.json()


def records_lost_metric(base_url: str, topic: str) -> float | None:
    """`newsalert_kafka_records_lost_total{topic="TOPIC"}` on /metrics; None while the series is absent."""
    response = requests.get(base_url + "/metrics", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, describe_response(response)
    for line in response.text.splitlines():
        match = re.match(r'^newsalert_kafka_records_lost_total\{([^}]*)\}\s+(\S+)$', line)
        if match and re.search(rf'(^|,)topic="{re.escape(topic)}"(,|$)', match.group(1)):
            return float(match.group(2))
    return None


def start_role(spawn, newsalert_bin: Path, role: str, bootstrap: str, data_dir: Path, port: int, *extra: str,
               name: str | None = None) -> tuple[BackgroundProcess, str]:
    """``newsalert ROLE --bootstrap-servers B --data-dir D --port P``; returns once /healthz answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = spawn([newsalert_bin, role, "--bootstrap-servers", bootstrap, "--data-dir", data_dir, "--port", str(port),
                     *extra], name=name or f"newsalert-{role}")
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if not process.running():
            pytest.fail(f"{process.name} exited during start\n{process.describe()}")
        response = get(base_url + "/healthz")
        return response is not None and response.status_code == 200

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not healthy():
        if time.monotonic() > deadline:
            pytest.fail(f"{process.name} did not answer /healthz within {STARTUP_TIMEOUT:.0f} s\n{process.describe()}")
        time.sleep(0.1)
    return process, base_url


def dumped_ids(newsalert_bin: Path, data_dir: Path) -> set[str]:
    """Ids in `newsalert subscriptions dump` of a data directory (subscribers, channels, subscriptions)."""
    result = run_command([newsalert_bin, "subscriptions", "dump", "--data-dir", data_dir], check=True)
    return {line.split("\t", 1)[0] for line in result.stdout.splitlines() if "\t" in line}


def big_rule() -> dict:
    """A rule near the contract's limits, of random text (nothing compresses it, nothing matches it)."""
    def text(length: int) -> str:
        return secrets.token_hex(length)[:length]
    return {"tags": [text(128) for _ in range(64)], "entities": [text(128) for _ in range(64)],
            "keywords": " ".join(text(19) for _ in range(25))}


# --- 1. a fresh node on a truncated changelog --------------------------------------------------


def test_a_fresh_node_on_a_truncated_changelog_is_not_ready_and_says_why(start_broker, spawn, newsalert_bin, tmp_path):
    bootstrap = start_broker().bootstrap_servers
    ingest_dir = tmp_path / "ingest-data"
    ingest_dir.mkdir()
    admin_key = create_api_key(newsalert_bin, ingest_dir, "admin")
    ingest, ingest_url = start_role(spawn, newsalert_bin, "ingest", bootstrap, ingest_dir, free_port())

    def api(session: requests.Session, method: str, path: str, key: str, expected: int, **kwargs) -> requests.Response:
        response = session.request(method, ingest_url + path, headers={"Authorization": f"Bearer {key}"},
                                   timeout=HTTP_TIMEOUT, **kwargs)
        assert response.status_code == expected, f"{describe_response(response)}\n{ingest.describe()}"
        return response

    setup = requests.Session()
    subscriber = api(setup, "POST", "/v1/subscribers", admin_key, 201,
                     json={"name": f"truncation desk {uuid.uuid4().hex[:6]}", "time_zone": "UTC"}).json()
    token = api(setup, "POST", f"/v1/subscribers/{subscriber['subscriber_id']}/tokens", admin_key, 201).json()["token"]
    never = f"zqxj{uuid.uuid4().hex[:10]}"
    quiet = [api(setup, "POST", "/v1/subscriptions", token, 201, json={"name": f"quiet {index}", "rule": {"keywords": never}})
             .json()["subscription_id"] for index in range(QUIET_SUBSCRIPTIONS)]
    busy = [api(setup, "POST", "/v1/subscriptions", token, 201, json={"name": f"busy {index}", "rule": {"keywords": never}})
            .json()["subscription_id"] for index in range(BUSY_SUBSCRIPTIONS)]

    # Change the busy subscriptions over and over until a changelog partition has lost its first records.
    sessions = threading.local()
    replication: dict[str, int] = {}
    written = {"patches": 0, "bytes": 0}
    lock = threading.Lock()

    def patch(subscription_id: str) -> None:
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        response = api(sessions.session, "PATCH", f"/v1/subscriptions/{subscription_id}", token, 200, json={"rule": big_rule()})
        with lock:
            written["patches"] += 1
            written["bytes"] += len(response.content)
            state = response.headers.get("Newsalert-Replication", "(absent)")
            replication[state] = replication.get(state, 0) + 1

    started = time.monotonic()
    marks = watermarks(bootstrap, CHANGELOG)
    with concurrent.futures.ThreadPoolExecutor(PATCH_WORKERS) as pool:
        while not any(low > 0 for low, _ in marks.values()):
            if time.monotonic() - started > WRITE_BUDGET or written["patches"] >= MAX_PATCHES:
                pytest.fail(f"{written['patches']} changes ({written['bytes'] / MIB:.1f} MiB) in "
                            f"{time.monotonic() - started:.0f} s did not make any {CHANGELOG} partition lose its "
                            f"beginning: watermarks {marks}\n{ingest.describe()}")
            round_ = [busy[(written["patches"] + index) % len(busy)] for index in range(PATCHES_PER_ROUND)]
            for future in [pool.submit(patch, subscription_id) for subscription_id in round_]:
                future.result()
            marks = watermarks(bootstrap, CHANGELOG)
    truncated = {partition: low for partition, (low, _) in marks.items() if low > 0}
    retained_sizes, retained_keys = retained(bootstrap, CHANGELOG)
    print(f"\n{written['patches']} subscription changes, ~{written['bytes'] / MIB:.1f} MiB of values, in "
          f"{time.monotonic() - started:.1f} s; {CHANGELOG} watermarks (low, high) {marks}; retained MiB by partition "
          f"{ {p: round(b / MIB, 2) for p, b in sorted(retained_sizes.items())} }; replication headers {replication}")
    assert truncated, marks

    live = dumped_ids(newsalert_bin, ingest_dir)
    assert {subscriber["subscriber_id"], *quiet, *busy} <= live, f"the API node's own store misses changes: {sorted(live)}"
    # What a copy made from the retained log alone would miss (printed: it is why the replica must not say ready).
    print(f"live ids with no record left on {CHANGELOG}: {sorted(live - retained_keys)}")

    # A fresh fan-out node, empty data directory, on the same cluster.
    fanout_dir = tmp_path / "fanout-data"
    fanout, fanout_url = start_role(spawn, newsalert_bin, "fanout", bootstrap, fanout_dir, free_port(),
                                    "--fanout-group", f"truncation-test-{uuid.uuid4().hex[:6]}")
    observed: dict[str, object] = {}

    def verdict() -> str | None:
        if not fanout.running():
            pytest.fail(f"the fresh fan-out node exited\n{fanout.describe()}")
        held = dumped_ids(newsalert_bin, fanout_dir)  # before /readyz: a node that says ready must already hold it all
        status, body = readiness(fanout_url)
        observed.update(status=status, body=body, missing=sorted(live - held))
        if status == 503 and any(reason.startswith(f"{CHANGELOG} replica") for reason in body.get("reasons") or []):
            return "not ready"
        if status == 200 and live <= held:
            return "ready and complete"
        return None

    deadline = time.monotonic() + LOSS_TIMEOUT
    while not (outcome := verdict()):
        if time.monotonic() > deadline:
            pytest.fail(f"the fresh fan-out node neither answered /readyz 503 naming {CHANGELOG} nor became ready with "
                        f"every live subscription within {LOSS_TIMEOUT:.0f} s; last /readyz {observed.get('status')}: "
                        f"{observed.get('body')}; missing {observed.get('missing')}\n{fanout.describe()}")
        time.sleep(0.2)
    print(f"fresh fan-out node: {outcome}; /readyz {observed['status']}: {json.dumps(observed['body'])}")

    if outcome == "not ready":
        body = observed["body"]
        assert body["status"] == "not_ready" and body["kafka"] == "reachable", body
        # Every truncated partition is reported, each once, with exactly the offsets the log no longer holds.
        expected = {(CHANGELOG, partition, 0, low - 1) for partition, low in truncated.items()}

        def reported() -> list[Loss] | None:
            losses = logged_losses(fanout)
            return losses if {(l.topic, l.partition, l.first, l.last) for l in losses} >= expected else None

        deadline = time.monotonic() + LOSS_TIMEOUT
        while not (losses := reported()):
            if time.monotonic() > deadline:
                pytest.fail(f"the fan-out node did not log `{LOSS_MESSAGE}` for {sorted(expected)} within "
                            f"{LOSS_TIMEOUT:.0f} s\n{fanout.describe()}")
            time.sleep(0.2)
        print("logged:\n" + "\n".join(loss.line for loss in losses))
        for loss in losses:
            assert (loss.topic, loss.partition, loss.first, loss.last) in expected, (
                f"a loss nobody caused (false positive): {loss.line}\nwatermarks {marks}\n{fanout.describe()}")
            assert loss.count == loss.last - loss.first + 1, loss.line
            assert loss.kind == "log_beginning_gone", loss.line
            assert loss.group.startswith("newsalert-replica-"), loss.line
            assert "error" in loss.line.split(LOSS_MESSAGE)[0].lower(), f"the loss is not logged as an error: {loss.line}"
        assert len(losses) == len(expected), "a partition's loss was logged more than once:\n" + "\n".join(l.line for l in losses)
        lost = sum(truncated.values())

        def counted() -> tuple | None:
            status, body = readiness(fanout_url)
            metric = records_lost_metric(fanout_url, CHANGELOG)
            observed.update(status=status, body=body, metric=metric)
            return (status, body, metric) if body.get("records_lost") == lost and metric == lost else None

        deadline = time.monotonic() + LOSS_TIMEOUT
        while not (result := counted()):
            if time.monotonic() > deadline:
                pytest.fail(f"/readyz records_lost and newsalert_kafka_records_lost_total{{topic=\"{CHANGELOG}\"}} of the "
                            f"fan-out node did not reach the {lost} lost records within {LOSS_TIMEOUT:.0f} s: /readyz "
                            f"{observed['status']} {observed['body']}, metric {observed.get('metric')}\n{fanout.describe()}")
            time.sleep(0.2)
        status, body, _ = result
        assert status == 503 and body["status"] == "not_ready", body
        reasons = [reason for reason in body.get("reasons") or [] if reason.startswith(f"{CHANGELOG} replica")]
        assert len(reasons) == 1, body
        assert any(f"{CHANGELOG}[{partition}] offsets 0...{low - 1}" in reasons[0] for partition, low in truncated.items()), (
            f"the reason does not name the lost range: {reasons[0]}; truncated {truncated}")
        for partition, low in truncated.items():
            assert any(f"{CHANGELOG}[{partition}] offsets 0...{low - 1} " in entry for entry in body.get("losses") or []), (
                f"/readyz losses do not name {CHANGELOG}[{partition}] offsets 0...{low - 1}: {body}")
        assert fanout.running(), f"the fan-out node should stay up (not ready, saying why)\n{fanout.describe()}"

    # The API node read every change before the log lost it (read-your-writes made each answer wait for its own
    # replica): it lost nothing and stays ready.
    status, body = readiness(ingest_url)
    print(f"API node (ingest): /readyz {status}: {json.dumps(body)}; replication headers {replication}")
    if set(replication) == {"applied"}:
        assert status == 200 and body["status"] == "ready" and body["records_lost"] == 0, (
            f"the API node's replica applied every change as it was made, yet /readyz says {status} {body}\n"
            f"{ingest.describe()}")
        assert logged_losses(ingest) == [], ingest.describe()
        assert records_lost_metric(ingest_url, CHANGELOG) in (None, 0.0)
    else:
        # Its replica fell behind the changes it made (some answers said `pending`): whatever it reports then is
        # printed above for the record; it must at least not claim a loss of something other than the changelog.
        assert all(loss.topic == CHANGELOG for loss in logged_losses(ingest)), ingest.describe()


# --- 2. a work group behind the retained log ---------------------------------------------------


def test_a_group_lagging_past_the_retained_log_reports_its_loss(start_broker, spawn, newsalert_bin, tmp_path):
    bootstrap = start_broker().bootstrap_servers
    enrich_dir, port = tmp_path / "enrich-data", free_port()
    enrich, enrich_url = start_role(spawn, newsalert_bin, "enrich", bootstrap, enrich_dir, port)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    try:
        def produce(key: str, value: bytes) -> int:
            delivered: list = []
            producer.produce(EVENTS, key=key.encode(), value=value, partition=EVENTS_PARTITION,
                             headers=[("content-type", b"application/json")],
                             on_delivery=lambda error, message: delivered.append((error, message)))
            return delivered

        # One event on the partition; the group reads it and commits past it.
        event_id = "evt_" + uuid.uuid4().hex[:26]
        event = {"id": event_id, "kind": "breaking", "headline": f"Truncation probe {uuid.uuid4().hex[:8]}",
                 "regions": [], "tags": [], "status": "usable",
                 "published_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        delivered = produce(event_id, json.dumps(event).encode())
        assert producer.flush(30) == 0 and delivered and delivered[0][0] is None, f"the event was not written: {delivered}"
        first_offset = delivered[0][1].offset()

        def committed_past() -> int | None:
            if not enrich.running():
                pytest.fail(f"enrich exited\n{enrich.describe()}")
            offset = committed_offset(bootstrap, ENRICH_GROUP, EVENTS, EVENTS_PARTITION)
            return offset if offset > first_offset else None

        committed = wait_until(committed_past, COMMIT_TIMEOUT, interval=0.3,
                               message=f"group {ENRICH_GROUP} to commit past {EVENTS}[{EVENTS_PARTITION}]@{first_offset}")
        status = enrich.stop()
        assert status == 0, f"enrich did not stop cleanly on SIGTERM\n{enrich.describe()}"
        committed = committed_offset(bootstrap, ENRICH_GROUP, EVENTS, EVENTS_PARTITION)

        # While the group is away, more than the partition keeps is written to it.
        filler = []
        for index in range(FILLER_RECORDS):
            payload = json.dumps({"filler": index, "data": secrets.token_urlsafe(FILLER_BYTES)[:FILLER_BYTES]}).encode()
            filler.append(produce(f"filler-{index}", payload))
            producer.poll(0)
        assert producer.flush(60) == 0, "confluent-kafka could not deliver the filler"
        errors = [d[0][0] for d in filler if not d or d[0][0] is not None]
        assert not errors, f"filler records not written: {errors[:3]}"
    finally:
        producer.flush(5)
        del producer
    marks = watermarks(bootstrap, EVENTS)
    low, high = marks[EVENTS_PARTITION]
    print(f"\n{FILLER_RECORDS} x {FILLER_BYTES // 1024} KiB written to {EVENTS}[{EVENTS_PARTITION}]; group {ENRICH_GROUP} "
          f"committed {committed}; watermarks (low, high) {low, high}")
    assert low > committed, f"the partition kept the group's position: watermarks {low, high}, committed {committed}"

    # Back again, the group finds its position gone: it reports what it will never read and carries on.
    enrich, enrich_url = start_role(spawn, newsalert_bin, "enrich", bootstrap, enrich_dir, port, name="newsalert-enrich-restarted")

    def reported() -> list[Loss] | None:
        if not enrich.running():
            pytest.fail(f"the restarted enrich exited\n{enrich.describe()}")
        losses = logged_losses(enrich)
        return losses if any(l.topic == EVENTS and l.partition == EVENTS_PARTITION for l in losses) else None

    deadline = time.monotonic() + LOSS_TIMEOUT
    while not (losses := reported()):
        if time.monotonic() > deadline:
            pytest.fail(f"the restarted enrich did not log `{LOSS_MESSAGE}` for {EVENTS}[{EVENTS_PARTITION}] within "
                        f"{LOSS_TIMEOUT:.0f} s (committed {committed}, watermarks {low, high})\n{enrich.describe()}")
        time.sleep(0.2)
    assert len(losses) == 1, "expected one loss, of one partition:\n" + "\n".join(l.line for l in losses)
    loss = losses[0]
    print(f"logged: {loss.line}")
    assert (loss.first, loss.last, loss.count) == (committed, low - 1, low - committed), (
        f"the logged range is not what the group missed (committed {committed}, first retained {low}): {loss.line}")
    assert loss.group == ENRICH_GROUP and loss.kind == "position_behind_log", loss.line
    assert "error" in loss.line.split(LOSS_MESSAGE)[0].lower(), f"the loss is not logged as an error: {loss.line}"

    observed: dict[str, object] = {}

    def counted() -> tuple | None:
        status, body = readiness(enrich_url)
        metric = records_lost_metric(enrich_url, EVENTS)
        observed.update(status=status, body=body, metric=metric)
        return (status, body) if metric == loss.count and body.get("records_lost") == loss.count else None

    deadline = time.monotonic() + LOSS_TIMEOUT
    while not (result := counted()):
        if time.monotonic() > deadline:
            pytest.fail(f"/metrics and /readyz of the restarted enrich did not count the {loss.count} lost records within "
                        f"{LOSS_TIMEOUT:.0f} s: metric {observed.get('metric')}, /readyz {observed.get('status')} "
                        f"{observed.get('body')}\n{enrich.describe()}")
        time.sleep(0.2)
    status, body = result
    print(f"restarted enrich: /readyz {status}: {json.dumps(body)}")
    assert status == 200 and body["status"] == "ready" and body["kafka"] == "reachable", (
        f"a lagging work group must be reported, not blocked: {body}")
    assert not body.get("reasons"), body
    assert len(body.get("losses") or []) == 1, body
    assert f"{EVENTS}[{EVENTS_PARTITION}] offsets {committed}...{low - 1} " in body["losses"][0], body
    assert ENRICH_GROUP in body["losses"][0], body

    # It carries on from the first retained record: the group's position reaches the end of the partition.
    def caught_up() -> bool:
        if not enrich.running():
            pytest.fail(f"the restarted enrich exited\n{enrich.describe()}")
        return committed_offset(bootstrap, ENRICH_GROUP, EVENTS, EVENTS_PARTITION) >= high

    deadline = time.monotonic() + COMMIT_TIMEOUT
    while not caught_up():
        if time.monotonic() > deadline:
            pytest.fail(f"the restarted enrich did not commit to the end of {EVENTS}[{EVENTS_PARTITION}] ({high}) within "
                        f"{COMMIT_TIMEOUT:.0f} s\n{enrich.describe()}")
        time.sleep(0.3)
    # Reading on added no loss: still the one, counted once.
    assert [(l.topic, l.partition, l.first, l.last) for l in logged_losses(enrich)] == [(EVENTS, EVENTS_PARTITION, committed, low - 1)], (
        enrich.describe())
    assert records_lost_metric(enrich_url, EVENTS) == loss.count
