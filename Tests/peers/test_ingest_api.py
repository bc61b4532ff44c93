"""The ingest HTTP API of `newsalert serve`, against its contract (schemas/openapi.yaml,
news-event.schema.json, error.schema.json) and against Kafka as independent clients see it.

Every accepted event is read back from `news.events` with kcat (librdkafka's own CLI) and checked
against news-event.schema.json with the record key equal to the event id; record counts come from
the brokers' watermarks (confluent-kafka), so a duplicate or a stray write cannot hide. Every error
answer is checked against error.schema.json with its exact status, code and named fields.

All tests share one server (the session fixture ``newsalert_server`` in conftest.py).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from confluent_kafka import Consumer
from jsonschema import Draft202012Validator

from conftest import (
    SEED_ARTICLE, BackgroundProcess, NewsalertServer, create_api_key, describe, load_schema, newsalert_serve_status,
    run_command, schema_errors, stored_record_count, wait_for_serve,
)

TOPIC = "news.events"
KCAT_TIMEOUT = 60.0
# How far a server-set published_at / received_at may be from this machine's clock.
CLOCK_SLACK = timedelta(minutes=5)
UNKNOWN_ID = "evt_0000000000zzzzzzzzzzzzzzzz"

# The seed page's article, as a client would send it (every optional field filled in).
FULL_ARTICLE = dict(SEED_ARTICLE)


# --- contract validators -----------------------------------------------------------------------


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


EVENT_VALIDATOR = _validator(load_schema("news-event.schema.json"))
ERROR_VALIDATOR = _validator(load_schema("error.schema.json"))
_OPENAPI = load_schema("openapi.yaml")


def openapi_validator(component: str) -> Draft202012Validator:
    """A validator for one of openapi.yaml's component schemas (its local $refs resolve)."""
    return _validator({"$ref": f"#/components/schemas/{component}", "components": _OPENAPI["components"]})


def json_body(response: requests.Response):
    """The response's JSON body; fails with the response when it is not JSON."""
    assert response.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", describe(response)
    try:
        return response.json()
    except ValueError:
        pytest.fail(f"not JSON: {describe(response)}")


def assert_accepted(response: requests.Response) -> dict:
    """A 202 whose body is openapi.yaml's Accepted; returns it."""
    assert response.status_code == 202, describe(response)
    body = json_body(response)
    assert schema_errors(openapi_validator("Accepted"), body) == [], describe(response)
    return body


def field_named(entry: dict, name: str) -> bool:
    """Whether an error `fields` entry is about ``name`` (`regions`, or one item as `regions[1]`)."""
    return entry["field"] == name or entry["field"].startswith((name + "[", name + "."))


def assert_error(response: requests.Response, status: int, code: str, fields: list[str] = ()) -> dict:
    """An error answer with exactly this status and code, valid against error.schema.json, whose
    `fields` name each of ``fields``; returns its `error` object."""
    assert response.status_code == status, describe(response)
    body = json_body(response)
    assert schema_errors(ERROR_VALIDATOR, body) == [], describe(response)
    error = body["error"]
    assert error["status"] == status and error["code"] == code, describe(response)
    for name in fields:
        assert any(field_named(entry, name) for entry in error.get("fields") or []), (
            f"`fields` does not name {name!r}: {describe(response)}")
    return error


# --- Kafka, as independent clients see it ------------------------------------------------------


def read_topic(bootstrap: str, topic: str = TOPIC) -> list[dict]:
    """Every record of ``topic``, read by kcat from the beginning to the end of each partition.

    Each is kcat's JSON envelope: topic, partition, offset, key, payload (strings or null).
    """
    result = run_command(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q"],
                         timeout=KCAT_TIMEOUT)
    assert result.returncode == 0, f"kcat failed ({result.returncode}):\n{result.stderr}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def record_at(records: list[dict], answer: dict) -> dict:
    """The record an Accepted answer points to."""
    matches = [record for record in records
               if record["partition"] == answer["partition"] and record["offset"] == answer["offset"]]
    assert len(matches) == 1, f"no record at {answer} on {TOPIC} ({len(records)} records read)"
    return matches[0]


def check_record(record: dict, answer: dict) -> dict:
    """The record of an accepted event: keyed by the id, a valid news event with that id. Returns the event."""
    assert record["key"] == answer["id"], f"record key {record['key']!r} is not the event id {answer['id']!r}"
    event = json.loads(record["payload"])
    assert schema_errors(EVENT_VALIDATOR, event) == [], f"invalid news event on {TOPIC}: {event}"
    assert event["id"] == answer["id"]
    return event


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("z", "Z"))


def assert_recent(text: str) -> None:
    """A server-set timestamp: RFC 3339 and close to now."""
    moment = parse_time(text)
    assert moment.tzinfo is not None, text
    assert abs(datetime.now(timezone.utc) - moment) < CLOCK_SLACK, f"{text} is not about now"


# --- helpers for requests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(newsalert_server: NewsalertServer) -> NewsalertServer:
    return newsalert_server


def publish(server: NewsalertServer, body, *, key: str | None = None, idempotency_key: str | None = None,
            path: str = "/v1/events") -> requests.Response:
    """POSTs ``body`` as JSON with the editor key (or ``key``)."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
    return server.request("POST", path, key=key or server.editor_key, json=body, headers=headers)


def post_raw(server: NewsalertServer, data: bytes, content_type: str | None = "application/json",
             path: str = "/v1/events") -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return server.request("POST", path, key=server.editor_key, data=data, headers=headers)


def get_event(server: NewsalertServer, event_id: str, key: str | None = None) -> dict:
    """GET /v1/events/{id}: 200 with an EventRecord (openapi.yaml); returns it."""
    response = server.request("GET", f"/v1/events/{event_id}", key=key or server.editor_key)
    assert response.status_code == 200, describe(response)
    body = json_body(response)
    assert schema_errors(openapi_validator("EventRecord"), body) == [], describe(response)
    return body


def unique_headline(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


# --- health, pages, topics ---------------------------------------------------------------------


def test_health_and_readiness(server):
    health = server.request("GET", "/healthz")
    assert health.status_code == 200 and json_body(health) == {"status": "ok"}, describe(health)
    ready = server.request("GET", "/readyz")
    assert ready.status_code == 200 and json_body(ready) == {"status": "ready", "kafka": "reachable", "records_lost": 0}, describe(ready)


@pytest.mark.parametrize("path", ["/", "/newsroom"])
def test_pages_are_html(server, path):
    response = server.request("GET", path)
    assert response.status_code == 200, describe(response)
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    assert "<html" in response.text.lower()


def test_news_events_topic_exists_at_start(server):
    consumer = Consumer({"bootstrap.servers": server.bootstrap_servers, "group.id": "metadata-probe"})
    try:
        topics = consumer.list_topics(timeout=10).topics
    finally:
        consumer.close()
    assert TOPIC in topics, f"topics at start: {sorted(topics)}"
    assert len(topics[TOPIC].partitions) == 12


@pytest.mark.parametrize("method, path", [("GET", "/v1/no-such-thing"), ("DELETE", "/v1/events"), ("PUT", "/healthz")])
def test_unknown_routes_answer_an_error_body(server, method, path):
    """"Errors always use the error body": also for a path or method the API does not have."""
    response = server.request(method, path, key=server.editor_key)
    assert response.status_code in (404, 405), describe(response)
    if response.status_code == 404:
        assert_error(response, 404, "not_found")
    else:  # the contract names no code for 405: any error body will do
        assert schema_errors(ERROR_VALIDATOR, json_body(response)) == [], describe(response)


# --- publishing --------------------------------------------------------------------------------


def test_seed_breaking_lines_are_published_to_kafka(server, seed_page):
    """The ticker's lines, oldest first, each land on news.events keyed by id and valid; the
    list endpoint then shows them newest first, i.e. in the ticker's order."""
    lines = list(reversed(seed_page.breaking))  # the page shows the newest first
    before = stored_record_count(server.bootstrap_servers, TOPIC)
    answers = [assert_accepted(publish(server, {"kind": "breaking", "headline": line})) for line in lines]
    assert len({answer["id"] for answer in answers}) == len(lines), "event ids are not unique"
    assert stored_record_count(server.bootstrap_servers, TOPIC) - before == len(lines), "not exactly one record per event"

    records = read_topic(server.bootstrap_servers)
    for line, answer in zip(lines, answers):
        record = record_at(records, answer)
        event = check_record(record, answer)
        headers = dict(zip(record["headers"][::2], record["headers"][1::2])) if record.get("headers") else {}
        assert headers.get("content-type") == "application/json", f"record headers: {headers}"
        assert (event["kind"], event["headline"], event["status"]) == ("breaking", line, "usable")
        assert event["regions"] == [] and event["tags"] == []
        assert event.get("supersedes") is None
        assert_recent(event["published_at"])
    # Everything on the topic follows the schema, whoever wrote it.
    for record in records:
        assert schema_errors(EVENT_VALIDATOR, json.loads(record["payload"])) == [], record

    response = server.request("GET", f"/v1/events?limit={len(lines)}", key=server.editor_key)
    assert response.status_code == 200, describe(response)
    listing = json_body(response)
    assert schema_errors(openapi_validator("EventList"), listing) == [], describe(response)
    assert [item["event"]["headline"] for item in listing["events"]] == seed_page.breaking
    for item in listing["events"]:
        answer = next(answer for answer in answers if answer["id"] == item["event"]["id"])
        assert item["kafka"] == {"topic": TOPIC, "partition": answer["partition"], "offset": answer["offset"]}


def test_full_article_round_trip(server):
    """Every field a client sends arrives on Kafka unchanged, and GET shows the same event."""
    answer = assert_accepted(publish(server, FULL_ARTICLE))
    event = check_record(record_at(read_topic(server.bootstrap_servers), answer), answer)
    for field, value in FULL_ARTICLE.items():
        if field == "published_at":
            assert parse_time(event[field]) == parse_time(value), (event[field], value)
        else:
            assert event[field] == value, field
    assert event["status"] == "usable" and event.get("supersedes") is None

    record = get_event(server, answer["id"])
    assert record["event"] == event
    assert record["kafka"] == {"topic": TOPIC, "partition": answer["partition"], "offset": answer["offset"]}
    assert record["killed"] is False and record["corrections"] == []
    assert_recent(record["received_at"])
    # Both roles may read.
    assert get_event(server, answer["id"], key=server.admin_key)["event"] == event


def test_optional_fields_may_be_null(server):
    body = {"kind": "blog", "headline": unique_headline("Nulls mean not given"), "summary": None, "section": None,
            "regions": None, "tags": None, "urgency": None, "published_at": None, "url": None, "language": None}
    answer = assert_accepted(publish(server, body))
    event = check_record(record_at(read_topic(server.bootstrap_servers), answer), answer)
    assert event["regions"] == [] and event["tags"] == []
    assert all(event.get(field) is None for field in ("summary", "section", "urgency", "url", "language"))
    assert_recent(event["published_at"])


@pytest.mark.parametrize("body", [
    pytest.param({"headline": "x" * 300}, id="headline-300-characters"),
    pytest.param({"headline": "Flash", "urgency": 1}, id="urgency-1"),
    pytest.param({"headline": "Routine", "urgency": 9}, id="urgency-9"),
    pytest.param({"headline": "عاجل: غارة على بلدة كونين", "language": "ar", "regions": ["MENA", "Palestine"]}, id="arabic"),
    pytest.param({"headline": "Plus JSON", "tags": ["x" * 64] * 1}, id="tag-64-characters"),
])
def test_boundary_values_are_accepted(server, body):
    answer = assert_accepted(publish(server, {"kind": "breaking", **body}))
    event = check_record(record_at(read_topic(server.bootstrap_servers), answer), answer)
    assert event["headline"] == body["headline"]


def test_json_with_charset_is_accepted(server):
    body = json.dumps({"kind": "breaking", "headline": unique_headline("Charset")}).encode()
    assert_accepted(post_raw(server, body, "application/json; charset=utf-8"))


def test_admin_may_publish(server):
    assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("Admin")}, key=server.admin_key))


# --- idempotency -------------------------------------------------------------------------------


def test_idempotent_retry_publishes_once(server):
    key = f"retry-{uuid.uuid4()}"
    body = {"kind": "breaking", "headline": unique_headline("Naeini: our response will be stronger")}
    before = stored_record_count(server.bootstrap_servers, TOPIC)
    first = publish(server, body, idempotency_key=key)
    second = publish(server, body, idempotency_key=key)
    answer = assert_accepted(first)
    assert second.status_code == first.status_code and second.json() == first.json(), (describe(first), describe(second))
    assert stored_record_count(server.bootstrap_servers, TOPIC) - before == 1, "the retry published a second record"
    records = [record for record in read_topic(server.bootstrap_servers) if record["key"] == answer["id"]]
    assert len(records) == 1

    # The same key with another body is a client bug: 409, and still nothing published.
    other = publish(server, {**body, "headline": body["headline"] + " (updated)"}, idempotency_key=key)
    assert_error(other, 409, "idempotency_key_reused")
    # Another key is another request.
    assert assert_accepted(publish(server, body, idempotency_key=key + "-2"))["id"] != answer["id"]
    assert stored_record_count(server.bootstrap_servers, TOPIC) - before == 2


def test_idempotent_retry_of_a_rejected_request_answers_the_same(server):
    key = f"invalid-{uuid.uuid4()}"
    body = {"kind": "breaking", "headline": ""}
    first, second = publish(server, body, idempotency_key=key), publish(server, body, idempotency_key=key)
    assert_error(first, 422, "invalid_fields", ["headline"])
    assert (second.status_code, second.json()) == (first.status_code, first.json())


# --- rejected requests -------------------------------------------------------------------------

BREAKING = {"kind": "breaking", "headline": "Israeli drone targets a car in the town of Kawnin"}


def without(body: dict, field: str) -> dict:
    return {key: value for key, value in body.items() if key != field}


# (case, body, fields the 422 must name)
INVALID_BODIES = [
    ("unknown section", {**BREAKING, "section": "Videos"}, ["section"]),
    ("unknown region", {**BREAKING, "regions": ["MENA", "Middle East"]}, ["regions"]),
    ("regions not an array", {**BREAKING, "regions": "MENA"}, ["regions"]),
    ("unknown kind", {**BREAKING, "kind": "tweet"}, ["kind"]),
    ("missing kind", without(BREAKING, "kind"), ["kind"]),
    ("null kind", {**BREAKING, "kind": None}, ["kind"]),
    ("missing headline", without(BREAKING, "headline"), ["headline"]),
    ("empty headline", {**BREAKING, "headline": ""}, ["headline"]),
    ("blank headline", {**BREAKING, "headline": "   "}, ["headline"]),
    ("headline of 301 characters", {**BREAKING, "headline": "x" * 301}, ["headline"]),
    ("headline not a string", {**BREAKING, "headline": 42}, ["headline"]),
    ("urgency 0", {**BREAKING, "urgency": 0}, ["urgency"]),
    ("urgency 10", {**BREAKING, "urgency": 10}, ["urgency"]),
    ("urgency 1.5", {**BREAKING, "urgency": 1.5}, ["urgency"]),
    ("urgency as text", {**BREAKING, "urgency": "1"}, ["urgency"]),
    ("urgency true", {**BREAKING, "urgency": True}, ["urgency"]),
    ("published_at not a date", {**BREAKING, "published_at": "yesterday"}, ["published_at"]),
    ("published_at impossible", {**BREAKING, "published_at": "2025-13-01T00:00:00Z"}, ["published_at"]),
    ("published_at without zone", {**BREAKING, "published_at": "2025-05-23T18:38:00"}, ["published_at"]),
    ("published_at a number", {**BREAKING, "published_at": 1750790280}, ["published_at"]),
    ("url not http", {**BREAKING, "url": "ftp://example.org/story"}, ["url"]),
    ("33 tags", {**BREAKING, "tags": [f"tag {index}" for index in range(33)]}, ["tags"]),
    ("tag of 65 characters", {**BREAKING, "tags": ["x" * 65]}, ["tags"]),
    ("summary over 1000", {**BREAKING, "summary": "x" * 1001}, ["summary"]),
    ("language not BCP 47", {**BREAKING, "language": "English!"}, ["language"]),
    ("several bad fields", {**BREAKING, "section": "Videos", "urgency": 0, "headline": ""},
     ["section", "urgency", "headline"]),
]


@pytest.mark.parametrize("case, body, fields", INVALID_BODIES, ids=[case for case, _, _ in INVALID_BODIES])
def test_invalid_fields_are_named(server, case, body, fields):
    assert_error(publish(server, body), 422, "invalid_fields", fields)


@pytest.mark.parametrize("field, value", [
    ("colour", "red"), ("id", "evt_mine"), ("status", "canceled"), ("supersedes", "evt_other"),
])
def test_unknown_and_server_owned_fields_are_rejected(server, field, value):
    error = assert_error(publish(server, {**BREAKING, field: value}), 422, "invalid_fields", [field])
    assert {"field": field, "problem": "is not a known field"} in error["fields"]


def test_rejected_requests_publish_nothing(server):
    before = stored_record_count(server.bootstrap_servers, TOPIC)
    for _, body, _ in INVALID_BODIES[:6]:
        assert publish(server, body).status_code == 422
    assert post_raw(server, b"{").status_code == 400
    assert stored_record_count(server.bootstrap_servers, TOPIC) == before


@pytest.mark.parametrize("data, code", [
    pytest.param(b"{", "invalid_json", id="truncated"),
    pytest.param(b"", "invalid_json", id="empty"),
    pytest.param(b"{'kind': 'breaking'}", "invalid_json", id="single-quotes"),
    pytest.param(b'[{"kind": "breaking", "headline": "x"}]', "invalid_json", id="array"),
    pytest.param(b'"breaking"', "invalid_json", id="string"),
    pytest.param(b"null", "invalid_json", id="null"),
    pytest.param(b'{"kind": "breaking", "headline": "\xff\xfe Gaza"}', "invalid_utf8", id="invalid-utf8"),
    pytest.param('{"kind": "breaking", "headline": "x"}'.encode("utf-16"), "invalid_utf8", id="utf16"),
])
def test_malformed_bodies_are_400(server, data, code):
    assert_error(post_raw(server, data), 400, code)


def test_body_over_the_limit_is_413(server):
    body = json.dumps({**BREAKING, "body": "x" * (300 * 1024)}).encode()
    try:
        response = post_raw(server, body)
    except requests.ConnectionError as error:
        pytest.fail(f"the server closed the connection instead of answering 413: {error}")
    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_415(server, content_type):
    body = json.dumps(BREAKING).encode()
    assert_error(post_raw(server, body, content_type), 415, "unsupported_media_type")


# --- authentication ----------------------------------------------------------------------------

AUTHENTICATED_CALLS = [
    ("POST", "/v1/events", BREAKING),
    ("GET", "/v1/events", None),
    ("GET", f"/v1/events/{UNKNOWN_ID}", None),
    ("POST", f"/v1/events/{UNKNOWN_ID}/corrections", {"headline": "x"}),
    ("POST", f"/v1/events/{UNKNOWN_ID}/kill", {"reason": "x"}),
]


@pytest.mark.parametrize("method, path, body", AUTHENTICATED_CALLS, ids=[f"{m} {p}" for m, p, _ in AUTHENTICATED_CALLS])
@pytest.mark.parametrize("authorization", [None, "Bearer nak_bogus", "Bearer ", "Basic ZWRpdG9yOmVkaXRvcg=="],
                         ids=["no-key", "bogus-key", "empty-key", "basic-auth"])
def test_missing_or_invalid_key_is_401(server, method, path, body, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = server.request(method, path, json=body, headers=headers)
    assert_error(response, 401, "unauthenticated")


# --- corrections and kills ---------------------------------------------------------------------


def test_correction_and_kill_flow(server, seed_page):
    original_body = {"kind": "breaking", "headline": seed_page.breaking[4], "section": "Health",
                     "regions": ["MENA"], "urgency": 2}
    original = assert_accepted(publish(server, original_body))

    correction = assert_accepted(publish(
        server, {"headline": seed_page.breaking[4].replace("two injured", "three injured")},
        path=f"/v1/events/{original['id']}/corrections"))
    kill = assert_accepted(publish(
        server, {"reason": "The ministry withdrew its statement"}, path=f"/v1/events/{original['id']}/kill"))

    records = read_topic(server.bootstrap_servers)
    corrected = check_record(record_at(records, correction), correction)
    assert corrected["supersedes"] == original["id"]
    assert corrected["kind"] == "breaking", "a correction without kind keeps the original's kind"
    assert corrected["status"] == "usable" and "three injured" in corrected["headline"]
    killed = check_record(record_at(records, kill), kill)
    assert killed["status"] == "canceled" and killed["supersedes"] == original["id"]
    assert killed["headline"] == original_body["headline"]
    assert killed["reason"] == "The ministry withdrew its statement"

    record = get_event(server, original["id"])
    assert record["killed"] is True
    assert record["corrections"] == [correction["id"]]
    assert get_event(server, kill["id"])["event"]["status"] == "canceled"

    # A killed event can be neither killed again nor corrected.
    assert_error(publish(server, {"reason": "again"}, path=f"/v1/events/{original['id']}/kill"), 409, "already_killed")
    assert_error(publish(server, {"headline": "late fix"}, path=f"/v1/events/{original['id']}/corrections"),
                 409, "already_killed")


def test_correction_may_change_kind(server):
    original = assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("Short")}))
    correction = assert_accepted(publish(server, {"kind": "article", "headline": unique_headline("Longer")},
                                         path=f"/v1/events/{original['id']}/corrections"))
    event = check_record(record_at(read_topic(server.bootstrap_servers), correction), correction)
    assert (event["kind"], event["supersedes"]) == ("article", original["id"])


def test_correction_carries_its_reason(server):
    """The correction body has the same fields as POST /v1/events, `reason` among them."""
    original = assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("67 martyred")}))
    response = publish(server, {"headline": unique_headline("68 martyred"), "reason": "updated toll"},
                       path=f"/v1/events/{original['id']}/corrections")
    correction = assert_accepted(response)
    event = check_record(record_at(read_topic(server.bootstrap_servers), correction), correction)
    assert event["reason"] == "updated toll"


@pytest.mark.parametrize("body, fields", [
    pytest.param({}, ["headline"], id="no-headline"),
    pytest.param({"headline": ""}, ["headline"], id="empty-headline"),
    pytest.param({"headline": "x", "kind": "tweet"}, ["kind"], id="unknown-kind"),
    pytest.param({"headline": "x", "supersedes": "evt_other"}, ["supersedes"], id="supersedes"),
])
def test_invalid_corrections_are_422(server, body, fields):
    original = assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("To correct")}))
    assert_error(publish(server, body, path=f"/v1/events/{original['id']}/corrections"), 422, "invalid_fields", fields)


@pytest.mark.parametrize("body, fields", [
    pytest.param({}, ["reason"], id="no-reason"),
    pytest.param({"reason": ""}, ["reason"], id="empty-reason"),
    pytest.param({"reason": "x" * 501}, ["reason"], id="reason-over-500"),
    pytest.param({"reason": 42}, ["reason"], id="reason-not-text"),
    pytest.param({"reason": "x", "headline": "y"}, ["headline"], id="unknown-field"),
])
def test_invalid_kills_are_422(server, body, fields):
    original = assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("To kill")}))
    assert_error(publish(server, body, path=f"/v1/events/{original['id']}/kill"), 422, "invalid_fields", fields)
    assert get_event(server, original["id"])["killed"] is False


@pytest.mark.parametrize("event_id", [UNKNOWN_ID, "no-such-event"])
def test_unknown_event_is_404(server, event_id):
    assert_error(server.request("GET", f"/v1/events/{event_id}", key=server.editor_key), 404, "not_found")
    assert_error(publish(server, {"headline": "x"}, path=f"/v1/events/{event_id}/corrections"), 404, "not_found")
    assert_error(publish(server, {"reason": "x"}, path=f"/v1/events/{event_id}/kill"), 404, "not_found")


# --- listing -----------------------------------------------------------------------------------


def test_list_limits(server):
    for _ in range(3):
        assert_accepted(publish(server, {"kind": "breaking", "headline": unique_headline("Listing")}))
    one = server.request("GET", "/v1/events?limit=1", key=server.editor_key)
    assert one.status_code == 200 and len(json_body(one)["events"]) == 1, describe(one)
    default = json_body(server.request("GET", "/v1/events", key=server.admin_key))
    assert schema_errors(openapi_validator("EventList"), default) == []
    assert 3 <= len(default["events"]) <= 50
    received = [parse_time(item["received_at"]) for item in default["events"]]
    assert received == sorted(received, reverse=True), "not newest first"
    for limit in ("0", "201", "-1", "ten"):
        assert_error(server.request("GET", f"/v1/events?limit={limit}", key=server.editor_key),
                     422, "invalid_fields", ["limit"])


# --- Kafka unavailable -------------------------------------------------------------------------


def test_kafka_unavailable_is_503(newsalert_bin, start_broker, spawn, tmp_path, free_tcp_port):
    """A server on an external cluster answers 503 (readyz, publish) once the cluster is gone."""
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    # The embedded broker cannot create topics on request: create the service's topics up front.
    layout = ["news.events:12", "news.enriched:12", "news.deadletter:3", "subscriptions.changelog:3",
              "alerts.webhook:12", "alerts.email:12", "alerts.ticker:6"]
    broker = start_broker(topics=layout)
    data_dir = tmp_path / "data"
    process: BackgroundProcess = spawn(
        [newsalert_bin, "serve", "--port", str(free_tcp_port), "--data-dir", data_dir,
         "--bootstrap-servers", broker.bootstrap_servers], name="newsalert-serve-external")
    base_url, bootstrap = wait_for_serve(process)
    assert bootstrap == broker.bootstrap_servers
    other = NewsalertServer(base_url, bootstrap, data_dir, create_api_key(newsalert_bin, data_dir, "editor"), "",
                            process)
    assert_accepted(publish(other, {"kind": "breaking", "headline": "Before the outage"}))

    broker.process.stop()
    deadline = time.monotonic() + 60
    while (ready := other.request("GET", "/readyz")).status_code != 503:
        assert time.monotonic() < deadline, f"/readyz still answers {describe(ready)} 60 s after Kafka went away"
        time.sleep(1)
    assert json_body(ready) == {"status": "not_ready", "kafka": "unreachable", "records_lost": 0}
    started = time.monotonic()
    try:
        response = other.request("POST", "/v1/events", key=other.editor_key,
                                 json={"kind": "breaking", "headline": "During the outage"}, timeout=90)
    except requests.Timeout:
        pytest.fail("POST /v1/events got no answer within 90 s while Kafka was down (expected 503 kafka_unavailable)")
    assert_error(response, 503, "kafka_unavailable")
    assert time.monotonic() - started < 60, "the 503 took over a minute"
    assert other.request("GET", "/healthz").status_code == 200, "liveness must not depend on Kafka"
