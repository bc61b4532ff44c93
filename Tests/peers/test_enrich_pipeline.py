"""The enrich stage end to end, as independent Kafka and HTTP clients see it.

The publication's BREAKING ticker lines go in through `POST /v1/events` of a fresh
`newsalert serve` (its own embedded cluster and data directory, so no other test's events can
make them duplicates) and come out on `news.enriched`, read with confluent-kafka and kcat. Every
message there must be valid against schemas/news-enriched.schema.json, keyed by its story id,
and group the lines into the stories an editor would: the two Kawnin lines are one story, the two
Mahrouna lines another, and the Gaza, Trump and Channel 12 lines each their own.

Also: duplicates are dropped (exact repeats, Idempotency-Key retries, a record written to
`news.events` again), a kill joins the story it kills, poison records written with kcat land on
`news.deadletter` byte for byte without stopping the stage, and `newsalert enrich` killed with
SIGKILL continues the same stories after a restart without threading a redelivered record a
second time.

Every wait is bounded; the enrich consumer group's first join takes a few seconds.
"""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conftest import (
    SCHEMAS_DIR, BackgroundProcess, NewsalertServer, describe, load_schema, own_newsalert_server, run_command,
    schema_errors,
)

EVENTS, ENRICHED, DEADLETTER = "news.events", "news.enriched", "news.deadletter"
ENRICH_GROUP = "newsalert-enrich"
# The enrich consumer group's first join takes ~3 s; a restart after SIGKILL may wait for the dead
# member's session to expire (10 s) before the partitions are assigned again.
ENRICH_TIMEOUT = 30.0
KCAT_TIMEOUT = 30.0

# The seed page's BREAKING lines, by words that pick out exactly one line each (oldest first).
NAEINI_WAR = "The war has proven"
NAEINI_INTERESTS = "If our national interests"
KAWNIN_TARGETS = "Israeli drone targets a car in the town of Kawnin"
KAWNIN_MARTYRED = "One martyred in the Israeli drone strike on a car in the town of Kawnin"
MAHROUNA_VEHICLE = "between the towns of Jwayya and Mahrouna"
MAHROUNA_MINISTRY = "motorcycle in the town of Mahrouna"
CHANNEL_12 = "before Netanyahu arrives in Washington"
NETANYAHU_GAZA = "wants to end the war on Gaza"
GAZA_CASUALTIES = "67 Palestinians were martyred"
TRUMP = "Trump: Make the deal"
SEED_MARKERS = [NAEINI_WAR, NAEINI_INTERESTS, KAWNIN_TARGETS, KAWNIN_MARTYRED, MAHROUNA_VEHICLE, MAHROUNA_MINISTRY,
                CHANNEL_12, NETANYAHU_GAZA, GAZA_CASUALTIES, TRUMP]


# --- the contract ------------------------------------------------------------------------------


def contract_registry() -> Registry:
    """schemas/*.schema.json under their $id, so news-enriched's $ref to news-event resolves offline."""
    resources = [Resource.from_contents(load_schema(path.name)) for path in sorted(SCHEMAS_DIR.glob("*.schema.json"))]
    return Registry().with_resources((resource.id(), resource) for resource in resources)


def contract_validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=contract_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


ENRICHED_SCHEMA = load_schema("news-enriched.schema.json")
ENRICHED_VALIDATOR = contract_validator(ENRICHED_SCHEMA)
ENRICHMENT_VALIDATOR = contract_validator({"$ref": ENRICHED_SCHEMA["$id"] + "#/$defs/Enrichment"})
EVENT_VALIDATOR = contract_validator(load_schema("news-event.schema.json"))
DEADLETTER_VALIDATOR = contract_validator(load_schema("deadletter.schema.json"))


# --- Kafka, as independent clients see it ------------------------------------------------------


@dataclass
class Record:
    """One Kafka record as confluent-kafka or kcat read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def payload(self) -> dict:
        return json.loads(self.value)

    def describe(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset} key={self.key!r} value={self.value[:400]!r}"


class TopicReader:
    """Reads every partition of a topic from the beginning with confluent-kafka (assign, no group
    join), keeping every record it has seen; ``wait_for`` polls until a condition holds, bounded."""

    def __init__(self, bootstrap: str, topic: str):
        self.topic = topic
        self.records: list[Record] = []
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"pipeline-test-{uuid.uuid4().hex[:8]}",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assert partitions, f"topic {topic} has no partitions"
        self.consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])

    def poll(self, seconds: float = 0.2) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self.consumer.poll(0.05)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            self.records.append(Record(message.topic(), message.partition(), message.offset(), message.key(), message.value()))

    def wait_for(self, predicate: Callable[[list[Record]], object], timeout: float, message: str):
        """Polls until ``predicate(records)`` is truthy, which is returned; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            result = predicate(self.records)
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {message} on {self.topic} "
                            f"({len(self.records)} records read)")

    def close(self) -> None:
        self.consumer.close()


def enriched_for(records: list[Record], event_id: str) -> list[Record]:
    """The news.enriched records of one event id."""
    return [record for record in records if record.payload["event"]["id"] == event_id]


def wait_for_enriched(reader: TopicReader, event_id: str, timeout: float = ENRICH_TIMEOUT) -> Record:
    found = reader.wait_for(lambda records: enriched_for(records, event_id), timeout, f"the enriched record of {event_id}")
    return found[0]


def read_with_kcat(bootstrap: str, topic: str) -> list[Record]:
    """Every record of ``topic``, read by kcat from the beginning to the end of each partition."""
    result = run_command(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
                         timeout=KCAT_TIMEOUT)
    assert result.returncode == 0, f"kcat -C failed ({result.returncode}):\n{result.stderr}"
    records = []
    for line in result.stdout.splitlines():
        if line.strip():
            envelope = json.loads(line)
            key, value = envelope.get("key"), envelope.get("payload")
            records.append(Record(envelope["topic"], envelope["partition"], envelope["offset"],
                                  None if key is None else key.encode(), None if value is None else value.encode()))
    return records


def high_watermark(bootstrap: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{uuid.uuid4().hex[:8]}"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        consumer.close()


def kcat_produce(bootstrap: str, value: bytes, key: bytes | None, partition: int, tmp_path: Path) -> None:
    """Writes one record with kcat to a fixed partition; the value is a file, so its bytes are exact."""
    value_file = tmp_path / f"value-{uuid.uuid4().hex[:8]}.bin"
    value_file.write_bytes(value)
    argv = ["kcat", "-P", "-b", bootstrap, "-t", EVENTS, "-p", str(partition)]
    if key is not None:
        argv += ["-k", key.decode()]
    result = run_command(argv + [value_file], timeout=KCAT_TIMEOUT)
    assert result.returncode == 0, f"kcat -P failed ({result.returncode}):\n{result.stderr}"


def produce(producer: Producer, event: dict | bytes, key: str) -> tuple[int, int]:
    """Writes one news.events record with confluent-kafka (acks=all); returns (partition, offset)."""
    value = event if isinstance(event, bytes) else json.dumps(event).encode()
    delivered: list = []
    producer.produce(EVENTS, key=key.encode(), value=value, headers=[("content-type", b"application/json")],
                     on_delivery=lambda error, message: delivered.append((error, message)))
    assert producer.flush(15) == 0, "confluent-kafka could not deliver the record"
    error, message = delivered[0]
    assert error is None, error
    return message.partition(), message.offset()


def committed_offset(bootstrap: str, partition: int) -> int:
    """The enrich group's committed offset (next record to read) on news.events[partition]; -1001 when none."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": ENRICH_GROUP, "enable.auto.commit": False})
    try:
        return consumer.committed([TopicPartition(EVENTS, partition)], timeout=10)[0].offset
    finally:
        consumer.close()


def wait_for_commit_past(bootstrap: str, partition: int, offset: int, process: BackgroundProcess) -> None:
    """Waits until the enrich group has committed past news.events[partition]@offset: it has decided about it."""
    deadline = time.monotonic() + ENRICH_TIMEOUT
    while committed_offset(bootstrap, partition) <= offset:
        assert process.running(), process.describe()
        if time.monotonic() > deadline:
            pytest.fail(f"the enrich stage did not commit past {EVENTS}[{partition}]@{offset} within "
                        f"{ENRICH_TIMEOUT:.0f} s\n{process.describe()}")
        time.sleep(0.2)


def check_enriched(record: Record) -> dict:
    """A news.enriched record: valid against the contract, keyed by its story id. Returns the message."""
    message = record.payload
    assert schema_errors(ENRICHED_VALIDATOR, message) == [], f"invalid news.enriched message: {record.describe()}"
    story = message["story"]
    assert record.key is not None and record.key.decode() == story["story_id"], (
        f"key {record.key!r} is not the story id {story['story_id']!r}")
    assert message["enrichment"]["event_id"] == message["event"]["id"]
    if story["sequence"] == 1:
        assert story["story_id"] == "story-" + message["event"]["id"], f"story id not derived from its first event: {story}"
    return message


def check_reasons(enrichment: dict, label: str) -> None:
    """Every country and region enrichment added has a reason naming it."""
    for field in ("countries", "regions"):
        explained = {reason["value"] for reason in enrichment["reasons"] if reason["field"] == field}
        for value in enrichment[field]:
            assert value in explained, f"{label}: {field} {value} has no reason: {enrichment['reasons']}"


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex[:26]


def contract_event(headline: str, event_id: str | None = None) -> dict:
    """A minimal news.events value, as any producer following news-event.schema.json writes it."""
    event = {"id": event_id or new_event_id(), "kind": "breaking", "headline": headline, "regions": [], "tags": [],
             "published_at": now_rfc3339(), "status": "usable"}
    assert schema_errors(EVENT_VALIDATOR, event) == [], event
    return event


# --- the server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    """A fresh `newsalert serve` for this module: its own embedded cluster and data directory."""
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("enrich-pipeline")) as server_:
        yield server_


@pytest.fixture(scope="module")
def enriched_reader(server: NewsalertServer) -> Iterator[TopicReader]:
    reader = TopicReader(server.bootstrap_servers, ENRICHED)
    yield reader
    reader.close()


def post_event(server: NewsalertServer, body: dict, idempotency_key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return server.request("POST", "/v1/events", key=server.editor_key, json=body, headers=headers)


def publish_line(server: NewsalertServer, headline: str) -> str:
    """POST /v1/events with a breaking line (kind and headline only); returns the event id."""
    response = post_event(server, {"kind": "breaking", "headline": headline})
    assert response.status_code == 202, describe(response)
    return response.json()["id"]


def get_event(server: NewsalertServer, event_id: str) -> dict:
    response = server.request("GET", f"/v1/events/{event_id}", key=server.editor_key)
    assert response.status_code == 200, describe(response)
    return response.json()


def wait_until_processed(server: NewsalertServer, event_id: str, timeout: float = ENRICH_TIMEOUT) -> dict:
    """GET /v1/events/{id} until the enrich stage has decided about the event (`dedup` is set)."""
    view = {}

    def processed():
        nonlocal view
        view = get_event(server, event_id)
        return view if view.get("dedup") else None

    deadline = time.monotonic() + timeout
    while not processed():
        if time.monotonic() > deadline:
            pytest.fail(f"the enrich stage did not process {event_id} within {timeout:.0f} s: last GET {view}\n"
                        f"{server.process.describe()}")
        time.sleep(0.1)
    return view


@dataclass
class SeedStories:
    """The seed lines as published: marker -> event id, and marker -> its news.enriched message."""

    ids: dict[str, str]
    messages: dict[str, dict]
    records: dict[str, Record]


@pytest.fixture(scope="module")
def seed_stories(server: NewsalertServer, enriched_reader: TopicReader, seed_page) -> SeedStories:
    """Posts the seed page's BREAKING lines oldest first, one after the other as a ticker runs: each
    once the enrich stage has decided about the previous one (Kafka orders events per partition
    only, and news.events is keyed by event id)."""
    lines = list(reversed(seed_page.breaking))
    ids: dict[str, str] = {}
    for marker in SEED_MARKERS:
        matching = [line for line in lines if marker in line]
        assert len(matching) == 1, f"{marker!r} should pick out one BREAKING line of {seed_page.path}: {matching}"
    for line in lines:
        event_id = publish_line(server, line)
        view = wait_until_processed(server, event_id)
        assert view["story_id"], f"seed line dropped as {view['dedup']!r}: {line}"
        ids.update({marker: event_id for marker in SEED_MARKERS if marker in line})
    records = {marker: wait_for_enriched(enriched_reader, event_id) for marker, event_id in ids.items()}
    return SeedStories(ids=ids, messages={marker: record.payload for marker, record in records.items()}, records=records)


# --- the seed page's ticker, threaded into stories ---------------------------------------------


def test_seed_lines_are_enriched_into_stories(server, enriched_reader, seed_stories):
    messages, ids = seed_stories.messages, seed_stories.ids

    # Every message on the topic, read by kcat: valid, keyed by its story id, one per published event.
    all_records = read_with_kcat(server.bootstrap_servers, ENRICHED)
    assert len(all_records) >= len(ids)
    for record in all_records:
        check_enriched(record)
    for marker, event_id in ids.items():
        assert len(enriched_for(all_records, event_id)) == 1, f"{marker}: not exactly one news.enriched record"
        assert seed_stories.records[marker].key.decode() == messages[marker]["story"]["story_id"]

    def story(marker: str) -> dict:
        return messages[marker]["story"]

    # The two Kawnin lines: one story, started by the older line.
    assert story(KAWNIN_TARGETS)["relation"] == "new" and story(KAWNIN_TARGETS)["sequence"] == 1
    assert story(KAWNIN_TARGETS)["story_id"] == "story-" + ids[KAWNIN_TARGETS]
    assert story(KAWNIN_MARTYRED)["story_id"] == story(KAWNIN_TARGETS)["story_id"], story(KAWNIN_MARTYRED)
    assert story(KAWNIN_MARTYRED)["relation"] == "update"
    assert story(KAWNIN_MARTYRED)["sequence"] == 2
    assert story(KAWNIN_MARTYRED)["update_of"] == ids[KAWNIN_TARGETS]

    # The two Mahrouna lines: one story, not the Kawnin one.
    assert story(MAHROUNA_VEHICLE)["relation"] == "new" and story(MAHROUNA_VEHICLE)["sequence"] == 1
    assert story(MAHROUNA_MINISTRY)["story_id"] == story(MAHROUNA_VEHICLE)["story_id"], story(MAHROUNA_MINISTRY)
    assert story(MAHROUNA_MINISTRY)["sequence"] == 2
    assert story(MAHROUNA_MINISTRY)["update_of"] == ids[MAHROUNA_VEHICLE]
    assert story(MAHROUNA_VEHICLE)["story_id"] != story(KAWNIN_TARGETS)["story_id"]

    # The Gaza casualty line, the Trump line and the Channel 12 line: each a story of its own.
    members: dict[str, list[str]] = {}
    for marker, message in messages.items():
        members.setdefault(message["story"]["story_id"], []).append(marker)
    for marker in (GAZA_CASUALTIES, TRUMP, CHANNEL_12):
        assert story(marker)["relation"] == "new" and story(marker)["sequence"] == 1, f"{marker}: {story(marker)}"
        assert story(marker)["story_id"] == "story-" + ids[marker]
        assert members[story(marker)["story_id"]] == [marker], f"{marker} shares its story: {members}"

    # Geography, each added country and region with its reason.
    expected = {
        KAWNIN_TARGETS: ("LB", "MENA"), KAWNIN_MARTYRED: ("LB", "MENA"), MAHROUNA_VEHICLE: ("LB", "MENA"),
        GAZA_CASUALTIES: ("PS", "Palestine"), NETANYAHU_GAZA: ("PS", "Palestine"),
        NAEINI_WAR: ("IR", "MENA"), NAEINI_INTERESTS: ("IR", "MENA"),
    }
    for marker, (country, region) in expected.items():
        enrichment = messages[marker]["enrichment"]
        assert country in enrichment["countries"], f"{marker}: countries {enrichment['countries']}"
        assert region in enrichment["regions"], f"{marker}: regions {enrichment['regions']}"
    for marker, message in messages.items():
        check_reasons(message["enrichment"], marker)

    # The API shows what the topic says.
    for marker, event_id in ids.items():
        view = get_event(server, event_id)
        message = messages[marker]
        assert view["event"] == message["event"], marker
        assert view["story_id"] == message["story"]["story_id"], f"{marker}: GET story_id {view['story_id']}"
        assert schema_errors(ENRICHMENT_VALIDATOR, view["enrichment"]) == [], f"{marker}: {view['enrichment']}"
        assert view["enrichment"] == message["enrichment"], f"{marker}: GET enrichment differs from news.enriched"
        assert any(reason["field"] == "regions" for reason in view["enrichment"]["reasons"]), marker
        relation, sequence = message["story"]["relation"], message["story"]["sequence"]
        assert view["dedup"] == f"{relation} #{sequence} of {message['story']['story_id']}", f"{marker}: {view['dedup']}"


# --- duplicates --------------------------------------------------------------------------------


def test_exact_repeat_is_dropped(server, enriched_reader, seed_stories, seed_page):
    trump_line = next(line for line in seed_page.breaking if TRUMP in line)
    repeat_id = publish_line(server, trump_line)
    assert repeat_id != seed_stories.ids[TRUMP]
    view = wait_until_processed(server, repeat_id)
    assert view["dedup"].startswith("duplicate (exact)"), view["dedup"]
    assert view["dedup"] == f"duplicate (exact) of {seed_stories.ids[TRUMP]}", view["dedup"]
    # The stage published nothing for it (it decided before the GET above showed its decision).
    enriched_reader.poll(1.0)
    assert enriched_for(enriched_reader.records, repeat_id) == []
    assert enriched_for(read_with_kcat(server.bootstrap_servers, ENRICHED), repeat_id) == []
    # The original keeps its story.
    original = get_event(server, seed_stories.ids[TRUMP])
    assert original["story_id"] == seed_stories.messages[TRUMP]["story"]["story_id"]


def test_idempotent_retry_is_enriched_once(server, enriched_reader):
    body = {"kind": "breaking", "headline": f"Iraqi Ministry of Electricity: Power restored in Basra after a grid failure ({uuid.uuid4().hex[:6]})"}
    key = f"retry-{uuid.uuid4().hex}"
    first, retry = post_event(server, body, key), post_event(server, body, key)
    assert first.status_code == 202 and retry.status_code == 202, (describe(first), describe(retry))
    assert retry.json() == first.json() and retry.headers.get("Idempotent-Replayed") == "true", describe(retry)
    event_id = first.json()["id"]
    record = wait_for_enriched(enriched_reader, event_id)
    check_enriched(record)
    assert record.payload["story"]["relation"] == "new"
    enriched_reader.poll(1.0)
    assert len(enriched_for(enriched_reader.records, event_id)) == 1
    assert len([r for r in read_with_kcat(server.bootstrap_servers, EVENTS) if r.key == event_id.encode()]) == 1


@dataclass
class Redelivery:
    """An event enriched once, then its exact news.events record written again (as after a crash)."""

    event_id: str
    before: dict  # GET /v1/events/{id} once the event was enriched
    after: dict   # the same once the stage had committed past the redelivered record


@pytest.fixture(scope="module")
def redelivery(server: NewsalertServer, enriched_reader: TopicReader, tmp_path_factory) -> Redelivery:
    event_id = publish_line(server, f"Al Mayadeen's correspondent in Sanaa: Airstrikes on the port of Hodeidah ({uuid.uuid4().hex[:6]})")
    before = wait_until_processed(server, event_id)
    wait_for_enriched(enriched_reader, event_id)
    position = before["kafka"]
    # The record's exact bytes, read back with confluent-kafka, written again with kcat.
    consumer = Consumer({"bootstrap.servers": server.bootstrap_servers, "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(EVENTS, position["partition"], position["offset"])])
        message = None
        deadline = time.monotonic() + 15
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
        assert message is not None and not message.error(), f"could not read back {position}"
        key, value = message.key(), message.value()
    finally:
        consumer.close()
    assert key == event_id.encode() and json.loads(value)["id"] == event_id
    offset = high_watermark(server.bootstrap_servers, EVENTS, position["partition"])
    kcat_produce(server.bootstrap_servers, value, key, position["partition"], tmp_path_factory.mktemp("redelivery"))
    wait_for_commit_past(server.bootstrap_servers, position["partition"], offset, server.process)
    enriched_reader.poll(1.0)
    return Redelivery(event_id=event_id, before=before, after=get_event(server, event_id))


def test_redelivered_record_is_not_enriched_again(server, enriched_reader, redelivery):
    assert len(enriched_for(enriched_reader.records, redelivery.event_id)) == 1
    assert len(enriched_for(read_with_kcat(server.bootstrap_servers, ENRICHED), redelivery.event_id)) == 1
    assert redelivery.after["story_id"] == redelivery.before["story_id"]
    assert redelivery.after["enrichment"] == redelivery.before["enrichment"]


def test_redelivery_keeps_the_original_dedup_text(redelivery):
    assert redelivery.before["dedup"].startswith("new #1 of story-"), redelivery.before
    assert redelivery.after["dedup"] == redelivery.before["dedup"], (
        f"GET /v1/events/{redelivery.event_id} dedup changed from {redelivery.before['dedup']!r} "
        f"to {redelivery.after['dedup']!r} after a redelivery of the same record")


# --- kills -------------------------------------------------------------------------------------


def test_kill_joins_the_story_it_kills(server, enriched_reader, seed_stories):
    target = seed_stories.ids[KAWNIN_TARGETS]
    story_id = seed_stories.messages[KAWNIN_TARGETS]["story"]["story_id"]
    response = server.request("POST", f"/v1/events/{target}/kill", key=server.editor_key,
                              json={"reason": "the strike on Kawnin could not be confirmed"})
    assert response.status_code == 202, describe(response)
    kill_id = response.json()["id"]
    assert kill_id != target

    record = wait_for_enriched(enriched_reader, kill_id)
    message = check_enriched(record)
    story = message["story"]
    assert story["story_id"] == story_id and record.key == story_id.encode(), story
    assert story["relation"] == "kill", story
    assert story["supersedes"] == target, story
    assert message["event"]["status"] == "canceled" and message["event"]["supersedes"] == target, message["event"]
    # It is the story's latest event: after everything the story had so far.
    earlier = [r.payload["story"] for r in enriched_reader.records
               if r.payload["story"]["story_id"] == story_id and r.payload["event"]["id"] != kill_id]
    latest = max(earlier, key=lambda s: s["sequence"])
    assert story["sequence"] == latest["sequence"] + 1, (story, earlier)
    assert story["update_of"] == next(r.payload["event"]["id"] for r in enriched_reader.records
                                      if r.payload["story"] == latest), story

    view = wait_until_processed(server, kill_id)
    assert view["story_id"] == story_id and view["dedup"] == f"kill #{story['sequence']} of {story_id}", view
    assert get_event(server, target)["killed"] is True


# --- poison records ----------------------------------------------------------------------------


def test_poison_records_go_to_the_dead_letter_topic(server, enriched_reader, tmp_path):
    bootstrap, partition = server.bootstrap_servers, 0
    poison_id = new_event_id()
    poisons = [
        ("not JSON", b"poison-not-json", b"\xff{not json\n\tat all"),
        ("missing required fields", poison_id.encode(), json.dumps({"id": poison_id, "kind": "breaking"}).encode()),
        ("not JSON, no key", None, b"<html>oops</html>"),
    ]
    written = []
    for case, key, value in poisons:
        offset = high_watermark(bootstrap, EVENTS, partition)
        kcat_produce(bootstrap, value, key, partition, tmp_path)
        assert high_watermark(bootstrap, EVENTS, partition) == offset + 1, f"{case}: kcat did not write exactly one record"
        written.append((case, key, value, offset))

    reader = TopicReader(bootstrap, DEADLETTER)
    try:
        def letter_at(records: list[Record], offset: int) -> Record | None:
            for record in records:
                letter = record.payload
                if (letter["source_topic"], letter["source_partition"], letter["source_offset"]) == (EVENTS, partition, offset):
                    return record
            return None

        for case, key, value, offset in written:
            record = reader.wait_for(lambda records: letter_at(records, offset), ENRICH_TIMEOUT,
                                     f"the dead letter of {case} ({EVENTS}[{partition}]@{offset})")
            letter = record.payload
            assert schema_errors(DEADLETTER_VALIDATOR, letter) == [], f"{case}: {letter}"
            assert letter["reason"].strip(), f"{case}: {letter}"
            assert letter["stage"] == "enrich", f"{case}: {letter}"
            assert base64.b64decode(letter["original_value_base64"], validate=True) == value, f"{case}: {letter}"
            if key is None:
                assert letter["original_key_base64"] is None and record.key is None, f"{case}: {letter}"
            else:
                assert base64.b64decode(letter["original_key_base64"], validate=True) == key, f"{case}: {letter}"
                assert record.key == key, f"{case}: the dead letter's key {record.key!r} is not the original key"
            matching = [r for r in reader.records if letter_at([r], offset)]
            assert len(matching) == 1, f"{case}: {len(matching)} dead letters"
    finally:
        reader.close()
    assert enriched_for(enriched_reader.records, poison_id) == []

    # The stage carries on: a good event after the poison is enriched.
    good_id = publish_line(server, f"Yemeni Armed Forces: Drone attack on the port of Eilat ({uuid.uuid4().hex[:6]})")
    check_enriched(wait_for_enriched(enriched_reader, good_id))


# --- restart of the enrich role ----------------------------------------------------------------


def test_enrich_restart_after_sigkill_continues_the_stories(newsalert_bin, start_broker, spawn, tmp_path, seed_page):
    bootstrap = start_broker().bootstrap_servers
    data_dir = tmp_path / "enrich-data"
    enrich_argv = [newsalert_bin, "enrich", "--bootstrap-servers", bootstrap, "--data-dir", data_dir]
    first_line = next(line for line in seed_page.breaking if KAWNIN_TARGETS in line)
    second_line = next(line for line in seed_page.breaking if KAWNIN_MARTYRED in line)
    first, second = contract_event(first_line), contract_event(second_line)
    first_bytes = json.dumps(first).encode()

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    reader = TopicReader(bootstrap, ENRICHED)
    try:
        enrich = spawn(enrich_argv, name="newsalert-enrich")
        first_at = produce(producer, first_bytes, first["id"])
        started = check_enriched(wait_for_enriched(reader, first["id"]))["story"]
        assert started["relation"] == "new" and started["story_id"] == "story-" + first["id"], started
        # Done with it: the stage commits a record's offset only after it saved its story index.
        # (Killed between publishing and saving, it would thread the record again on restart and
        # publish the same decision a second time: at-least-once, by design.)
        wait_for_commit_past(bootstrap, *first_at, enrich)

        # SIGKILL: no graceful close, no final commit; the story index is what was saved per event.
        assert enrich.running(), enrich.describe()
        enrich.popen.send_signal(signal.SIGKILL)
        enrich.popen.wait(timeout=10)
        assert enrich.popen.returncode == -signal.SIGKILL, enrich.describe()

        restarted = spawn(enrich_argv, name="newsalert-enrich-restarted")
        redelivered_at = produce(producer, first_bytes, first["id"])  # the same record again: a redelivery
        produce(producer, second, second["id"])
        joined = check_enriched(wait_for_enriched(reader, second["id"], timeout=ENRICH_TIMEOUT + 15))["story"]
        assert joined["story_id"] == started["story_id"], f"the second Kawnin line started another story: {joined}"
        assert joined["sequence"] == 2 and joined["relation"] == "update", joined
        assert joined["update_of"] == first["id"], joined

        # The stage is past the redelivered record (its offset committed), so it has decided about it.
        wait_for_commit_past(bootstrap, *redelivered_at, restarted)
        reader.poll(1.0)
    finally:
        reader.close()
        producer.flush(5)
        del producer  # before the broker stops, so that it does not retry connecting to it

    records = read_with_kcat(bootstrap, ENRICHED)
    messages = [check_enriched(record) for record in records]
    new_stories = [m["event"]["id"] for m in messages if m["story"]["relation"] == "new"]
    assert len(new_stories) == len(set(new_stories)), f"an event id started two stories: {new_stories}"
    assert [m["story"]["sequence"] for m in messages if m["event"]["id"] == first["id"]] == [1], (
        "the first line was threaded more than once")
    stories_of_text = {m["story"]["story_id"] for m in messages if m["event"]["headline"] == first_line}
    assert stories_of_text == {started["story_id"]}, f"the same text is in several stories: {stories_of_text}"
    assert [m["event"]["id"] for m in messages] == [first["id"], second["id"]], (
        f"unexpected records on {ENRICHED}: {[(m['event']['id'], m['story']) for m in messages]}")
