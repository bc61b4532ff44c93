"""Kafka wire interoperability: newsalert's embedded broker and its KafkaBridge client
against independent Kafka clients, kcat (librdkafka 2.0) and confluent-kafka (a newer
librdkafka, through Python).

Records are compared exactly, as multisets of (key, value, headers): nothing missing, nothing
duplicated, bytes unchanged. The brokers' high watermarks are checked as well, so duplicates
written on the producing side cannot hide behind a consumer that stops after N records.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter

from confluent_kafka import Consumer, Producer

from conftest import stored_record_count

PARTITIONS = 3
# Upper bound for one `topics consume` run: group join (~3 s on the embedded broker) plus reading.
CONSUME_TIMEOUT = 40.0


def record_tuple(key, value, headers: dict) -> tuple:
    """A hashable, order-independent form of one record, for multiset comparison."""
    return key, value, tuple(sorted(headers.items()))


def consume_with_newsalert(run_newsalert, bootstrap: str, topic: str, count: int, group: str) -> list[dict]:
    """Reads ``count`` records with `newsalert topics consume` and returns its JSON lines."""
    result = run_newsalert(
        "topics", "consume", topic, "--bootstrap-servers", bootstrap, "--group", group,
        "--count", str(count), "--idle-timeout", "25", timeout=CONSUME_TIMEOUT)
    assert result.returncode == 0, f"consume failed ({result.returncode}):\n{result.stderr}"
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(records) == count, (
        f"newsalert consumed {len(records)} of {count} records from {topic}\nstderr:\n{result.stderr}")
    positions = [(record["partition"], record["offset"]) for record in records]
    assert len(set(positions)) == len(positions), "newsalert delivered a record twice"
    assert {record["topic"] for record in records} == {topic}
    return records


def assert_same_records(actual: list[tuple], expected: list[tuple]) -> None:
    """Fails with the difference when the two multisets of records differ."""
    actual_counts, expected_counts = Counter(actual), Counter(expected)
    missing = expected_counts - actual_counts
    unexpected = actual_counts - expected_counts
    assert not missing and not unexpected, (
        f"records differ: {sum(missing.values())} missing, e.g. {list(missing)[:3]}; "
        f"{sum(unexpected.values())} unexpected, e.g. {list(unexpected)[:3]}")


def test_kcat_producer_to_kafkabridge_consumer(start_broker, run_process, run_newsalert, unique_name):
    """200 keyed records with headers written by kcat are read back by KafkaBridge exactly once each,
    with keys, values and headers intact and each key's records in production order."""
    topic = "interop-kcat-to-bridge"
    bootstrap = start_broker(topics=[f"{topic}:{PARTITIONS}"]).bootstrap_servers
    lines = [(f"story-{index % 17}", f"breaking {index}: séisme à Zürich ✓") for index in range(200)]
    started_ms = time.time() * 1000

    produced = run_process(
        ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-H", "src=kcat", "-H", "desk=monde"],
        input="".join(f"{key}\t{value}\n" for key, value in lines))
    assert produced.returncode == 0, f"kcat -P failed:\n{produced.stderr}"
    assert stored_record_count(bootstrap, topic) == len(lines)

    records = consume_with_newsalert(run_newsalert, bootstrap, topic, len(lines), unique_name("kcat-reader"))
    headers = {"src": "kcat", "desk": "monde"}
    assert_same_records(
        [record_tuple(r["key"], r["value"], r["headers"]) for r in records],
        [record_tuple(key, value, headers) for key, value in lines])

    # Records of one key share a partition, so offsets must follow the order kcat sent them in.
    for key in {key for key, _ in lines}:
        sent = [value for k, value in lines if k == key]
        received = sorted((r for r in records if r["key"] == key), key=lambda r: (r["partition"], r["offset"]))
        assert len({r["partition"] for r in received}) == 1, f"key {key} spread over partitions"
        assert [r["value"] for r in received] == sent, f"records of key {key} out of order"
    assert all(started_ms - 60_000 <= r["timestamp_ms"] <= time.time() * 1000 + 60_000 for r in records)


def test_confluent_kafka_producer_to_kafkabridge_consumer(start_broker, run_newsalert, unique_name):
    """Records from an idempotent confluent-kafka producer (acks=all) reach KafkaBridge exactly:
    non-ASCII UTF-8 keys, values and headers, null keys and header values, explicit timestamps,
    and non-UTF-8 bytes (reported as base64)."""
    topic = "interop-confluent-to-bridge"
    bootstrap = start_broker(topics=[f"{topic}:{PARTITIONS}"]).bootstrap_servers
    base_ms = 1_700_000_000_000
    texts = ["Élysée : conférence de presse", "東京で地震 🚨", "عاجل: انتخابات", "Ελληνικά ✓", "plain ascii"]
    records = [
        {"key": f"clé-{index % 4}" if index % 5 else None,
         "value": f"{texts[index % len(texts)]} #{index}",
         "headers": {"src": "confluent-kafka", "rédaction": f"Zürich-{index}", "trace": None},
         "timestamp": base_ms + index}
        for index in range(60)
    ]

    delivery_errors = []
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for record in records:
        producer.produce(
            topic, key=record["key"].encode() if record["key"] is not None else None,
            value=record["value"].encode(),
            headers=[(name, value.encode() if value is not None else None) for name, value in record["headers"].items()],
            timestamp=record["timestamp"],
            on_delivery=lambda error, _message: error and delivery_errors.append(error))
    # Non-UTF-8 key and value: KafkaBridge must pass the bytes through, shown as base64.
    binary_key, binary_value = b"\xff\x00key", b"\x80\x81\xfe\xff"
    producer.produce(topic, key=binary_key, value=binary_value, headers=[("src", b"confluent-kafka")],
                     timestamp=base_ms - 1, on_delivery=lambda error, _message: error and delivery_errors.append(error))
    assert producer.flush(20) == 0, "confluent-kafka could not deliver every record"
    assert not delivery_errors, delivery_errors
    assert stored_record_count(bootstrap, topic) == len(records) + 1

    consumed = consume_with_newsalert(run_newsalert, bootstrap, topic, len(records) + 1, unique_name("confluent-reader"))
    binary = [r for r in consumed if isinstance(r["value"], dict)]
    assert len(binary) == 1, binary
    assert binary[0]["key"] == {"base64": base64.b64encode(binary_key).decode()}
    assert binary[0]["value"] == {"base64": base64.b64encode(binary_value).decode()}
    assert binary[0]["headers"] == {"src": "confluent-kafka"}
    assert binary[0]["timestamp_ms"] == base_ms - 1
    text_records = [r for r in consumed if not isinstance(r["value"], dict)]
    assert_same_records(
        [record_tuple(r["key"], r["value"], r["headers"]) + (r["timestamp_ms"],) for r in text_records],
        [record_tuple(r["key"], r["value"], r["headers"]) + (r["timestamp"],) for r in records])


def test_kafkabridge_producer_to_kcat_and_confluent_kafka(start_broker, run_process, run_newsalert, unique_name):
    """Records written by `newsalert topics produce` are read exactly, with keys, values and
    headers intact, by kcat and by a confluent-kafka group consumer; both see the same
    partitions and offsets that newsalert reported as acknowledged."""
    topic = "interop-bridge-to-peers"
    bootstrap = start_broker(topics=[f"{topic}:{PARTITIONS}"]).bootstrap_servers
    lines = [f"alerte-{index % 7}\tFlash n°{index} : Montréal ☔ 速報" for index in range(50)]
    lines += ["no separator: this whole line is the value", "tabs\tonly the first tab\tseparates"]
    expected_headers = {"src": "newsalert", "desk": "économie"}
    expected = []
    for line in lines:
        key, separator, value = line.partition("\t")
        expected.append(record_tuple(key, value, expected_headers) if separator else record_tuple(None, line, expected_headers))

    produced = run_newsalert(
        "topics", "produce", topic, "--bootstrap-servers", bootstrap, "--key-separator", "tab",
        *[arg for name, value in expected_headers.items() for arg in ("--header", f"{name}={value}")],
        input="".join(line + "\n" for line in lines))
    assert produced.returncode == 0, f"produce failed:\n{produced.stderr}"
    receipts = [line.split("\t") for line in produced.stdout.splitlines() if line.strip()]
    assert len(receipts) == len(lines), f"{len(receipts)} acknowledgements for {len(lines)} lines"
    acknowledged = {(int(partition), int(offset)) for _topic, partition, offset in receipts}
    assert {receipt[0] for receipt in receipts} == {topic} and len(acknowledged) == len(lines)
    assert stored_record_count(bootstrap, topic) == len(lines)

    # kcat: read every partition to its end, one JSON object per record.
    read = run_process(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-J"])
    assert read.returncode == 0, f"kcat -C failed:\n{read.stderr}"
    kcat_records = [json.loads(line) for line in read.stdout.splitlines() if line.strip()]
    kcat_headers = [dict(zip(r.get("headers", [])[::2], r.get("headers", [])[1::2])) for r in kcat_records]
    assert_same_records(
        [record_tuple(r["key"], r["payload"], headers) for r, headers in zip(kcat_records, kcat_headers)], expected)
    assert {(r["partition"], r["offset"]) for r in kcat_records} == acknowledged

    # confluent-kafka: a group member reading from the earliest offset.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("confluent-reader"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    messages = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(messages) < len(lines) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            messages.append(message)
        # Keep polling briefly: a duplicate would arrive now.
        extra = [m for m in (consumer.poll(0.5) for _ in range(3)) if m is not None and m.error() is None]
        assert not extra, f"confluent-kafka read {len(extra)} records beyond the {len(lines)} produced"
    finally:
        consumer.close()
    assert len(messages) == len(lines), f"confluent-kafka read {len(messages)} of {len(lines)} records"

    def decode(data: bytes | None) -> str | None:
        return data.decode("utf-8") if data is not None else None

    assert_same_records(
        [record_tuple(decode(m.key()), decode(m.value()), {k: decode(v) for k, v in m.headers() or []})
         for m in messages],
        expected)
    assert {(m.partition(), m.offset()) for m in messages} == acknowledged


def test_kcat_lists_the_embedded_cluster(start_broker, run_process, wait_until):
    """The address `newsalert broker` prints is a valid bootstrap list for kcat, which sees 3 brokers
    at exactly the advertised addresses and the topic created with --topic."""
    broker = start_broker(topics=["interop-metadata:5"])
    printed = wait_until(
        lambda: [line for line in broker.process.stdout().splitlines() if line.startswith("bootstrap.servers=")],
        timeout=10, message="the bootstrap.servers line on the broker's stdout")
    bootstrap = printed[0].removeprefix("bootstrap.servers=")
    assert bootstrap == broker.bootstrap_servers, "stdout and --port-file disagree"

    listing = run_process(["kcat", "-L", "-J", "-b", bootstrap])
    assert listing.returncode == 0, f"kcat -L failed:\n{listing.stderr}"
    metadata = json.loads(listing.stdout)
    assert len(metadata["brokers"]) == 3
    assert sorted(b["name"] for b in metadata["brokers"]) == sorted(bootstrap.split(","))
    topics = {t["topic"]: t for t in metadata["topics"]}
    assert len(topics["interop-metadata"]["partitions"]) == 5


def test_topics_create_on_embedded_broker_fails_clearly(broker, run_newsalert):
    """The embedded broker has no CreateTopics API: `topics create` gives up with an error that
    points to `newsalert broker --topic`, instead of hanging."""
    # run_newsalert fails the test if the command is still running after the timeout.
    result = run_newsalert("topics", "create", "interop-create-refused", "--bootstrap-servers", broker, timeout=40)
    assert result.returncode != 0, f"create unexpectedly succeeded:\n{result.stdout}"
    assert "--topic" in result.stderr, f"error does not mention --topic:\n{result.stderr}"


def test_unreachable_cluster_fails_within_the_timeout(run_newsalert):
    """With nothing listening, `topics list --timeout 3` exits non-zero within seconds and says it
    cannot reach Kafka."""
    started = time.monotonic()
    result = run_newsalert("topics", "list", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "3", timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, f"list unexpectedly succeeded:\n{result.stdout}"
    assert "cannot reach kafka" in result.stderr.lower(), result.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s with --timeout 3"
