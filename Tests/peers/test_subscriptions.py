"""Subscribers, delivery channels and subscriptions against the session's ``newsalert serve``.

* The admin API (`/v1/subscribers`): admin keys only, IANA time zones, tokens.
* A subscriber's own channels and subscriptions: another subscriber's answer 404 and stay intact.
* Invalid rules, fields and webhook URLs answer 422 naming the field.
* Every change reaches the compacted topic ``subscriptions.changelog`` (read with confluent-kafka):
  values match subscriber-, channel- or subscription-change.schema.json by ``entity``, keys are the
  ids, deletions end in a tombstone.
* Two fresh ``newsalert fanout`` nodes replay the changelog into stores identical to the server's.
* ``POST /v1/subscriptions/preview`` explains matches of recent events and what quiet hours,
  digests and the budget would do to them.

Everything made here has a unique name, and the rules of real subscriptions match nothing (a unique
keyword), so nothing here sends alerts and other tests on the session server are not disturbed.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from confluent_kafka import Consumer, KafkaException
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conftest import (SCHEMAS_DIR, NewsalertServer, TopicReader, call, describe, load_schema, own_newsalert_server, post_event,
                      unique_tag, wait_for_changelog, wait_until)

CHANGELOG_TOPIC = "subscriptions.changelog"
CHANGELOG_TIMEOUT = 30.0    # until the outbox's changes are on the topic
REPLAY_TIMEOUT = 45.0       # until a fresh fan-out node has replayed the changelog (startup included)
PREVIEW_TIMEOUT = 30.0      # until enrich has processed the posted lines and the fan-out has seen them
IDLE_SECONDS = 2.0          # a topic read is done after this long without a new record
CHANGELOG_SCHEMAS = {"subscriber": "subscriber-change.schema.json", "channel": "channel-change.schema.json",
                     "subscription": "subscription-change.schema.json"}
ID_FIELD = {"subscriber": "subscriber_id", "channel": "channel_id", "subscription": "subscription_id"}
ID_PREFIX = {"subscriber": "sbr_", "channel": "chn_", "subscription": "sub_"}
# A public address (no DNS in the test): the SSRF guard accepts it. No rule here ever matches an
# event while it points there, so nothing is delivered to it.
PUBLIC_WEBHOOK = "https://93.184.215.14/hooks/newsalert"
# Seed BREAKING lines (South Lebanon: MENA) posted for the preview.
PREVIEW_LINES = [
    "Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a car in the town of Kawnin",
    "Lebanese Ministry of Health: One martyr and two injured in the Israeli airstrike that targeted a motorcycle in the town of Mahrouna",
]


def never_matching_rule(**extra) -> dict:
    """A valid rule that no news event will match: a keyword nobody writes."""
    return {"keywords": f"zqxj{uuid.uuid4().hex[:10]}", **extra}


def problem_fields(response) -> list[str]:
    """The `field`s of a 422 answer (fails with the answer if it is not one)."""
    assert response.status_code == 422, describe(response)
    error = response.json()["error"]
    assert error["status"] == 422 and error["code"] == "invalid_fields", describe(response)
    return [problem["field"] for problem in error["fields"]]


@dataclass
class Subscriber:
    """A subscriber made for these tests, and its token."""

    id: str
    name: str
    time_zone: str
    token: str
    record: dict


def create_subscriber(server: NewsalertServer, label: str, **fields) -> Subscriber:
    name = unique_tag(label)
    response = server.request("POST", "/v1/subscribers", key=server.admin_key, json={"name": name, **fields})
    assert response.status_code == 201, describe(response)
    record = response.json()
    issued = server.request("POST", f"/v1/subscribers/{record['subscriber_id']}/tokens", key=server.admin_key)
    assert issued.status_code == 201, describe(issued)
    token = issued.json()
    assert token["subscriber_id"] == record["subscriber_id"] and token["token"].startswith("nst_"), token
    return Subscriber(id=record["subscriber_id"], name=name, time_zone=record["time_zone"], token=token["token"], record=record)


def create_channel(server: NewsalertServer, owner: Subscriber, body: dict) -> dict:
    response = server.request("POST", "/v1/channels", key=owner.token, json=body)
    assert response.status_code == 201, describe(response)
    return response.json()


def create_subscription(server: NewsalertServer, owner: Subscriber, rule: dict, name: str | None = None) -> dict:
    body = {"rule": rule} if name is None else {"name": name, "rule": rule}
    response = server.request("POST", "/v1/subscriptions", key=owner.token, json=body)
    assert response.status_code == 201, describe(response)
    return response.json()


def listed(server: NewsalertServer, owner: Subscriber, what: str) -> dict[str, dict]:
    """GET /v1/subscriptions or /v1/channels of ``owner``, by id."""
    response = server.request("GET", f"/v1/{what}", key=owner.token)
    assert response.status_code == 200, describe(response)
    id_key = "subscription_id" if what == "subscriptions" else "id"
    return {item[id_key]: item for item in response.json()[what]}


@pytest.fixture(scope="module")
def server(newsalert_server: NewsalertServer) -> NewsalertServer:
    return newsalert_server


@pytest.fixture(scope="module")
def desk_a(server) -> Subscriber:
    return create_subscriber(server, "desk-a", time_zone="Asia/Beirut")


@pytest.fixture(scope="module")
def desk_b(server) -> Subscriber:
    return create_subscriber(server, "desk-b", time_zone="Europe/Berlin")


# --- the admin API ------------------------------------------------------------------------------


def test_admin_creates_reads_disables_and_enables_subscribers(server):
    name = unique_tag("newsroom-night-desk")
    body = {"name": name, "time_zone": "Asia/Beirut", "budget": {"per_hour": 5, "per_day": 40, "flash_exceeds_budget": False}}
    response = server.request("POST", "/v1/subscribers", key=server.admin_key, json=body)
    assert response.status_code == 201, describe(response)
    created = response.json()
    assert re.fullmatch(r"sbr_[a-z0-9]{20}", created["subscriber_id"]), created
    assert (created["name"], created["time_zone"], created["status"], created["version"]) == (name, "Asia/Beirut", "active", 1)
    assert created["budget"] == body["budget"]
    subscriber_id = created["subscriber_id"]

    fetched = server.request("GET", f"/v1/subscribers/{subscriber_id}", key=server.admin_key)
    assert fetched.status_code == 200 and fetched.json() == created, describe(fetched)
    everyone = server.request("GET", "/v1/subscribers", key=server.admin_key, params={"limit": 1000})
    assert everyone.status_code == 200, describe(everyone)
    assert created in everyone.json()["subscribers"]

    disabled = server.request("POST", f"/v1/subscribers/{subscriber_id}/disable", key=server.admin_key)
    assert disabled.status_code == 200, describe(disabled)
    assert (disabled.json()["status"], disabled.json()["version"]) == ("disabled", 2)
    enabled = server.request("POST", f"/v1/subscribers/{subscriber_id}/enable", key=server.admin_key)
    assert enabled.status_code == 200, describe(enabled)
    assert (enabled.json()["status"], enabled.json()["version"]) == ("active", 3)

    tokens = [server.request("POST", f"/v1/subscribers/{subscriber_id}/tokens", key=server.admin_key) for _ in range(2)]
    assert [token.status_code for token in tokens] == [201, 201], [describe(token) for token in tokens]
    first, second = (token.json() for token in tokens)
    assert first["token"].startswith("nst_") and first["token"] != second["token"] and first["token_id"] != second["token_id"]
    # Each token is the subscriber's.
    for token in (first, second):
        mine = server.request("GET", "/v1/subscriptions", key=token["token"])
        assert mine.status_code == 200 and mine.json() == {"subscriptions": []}, describe(mine)


def test_subscriber_defaults(server):
    response = server.request("POST", "/v1/subscribers", key=server.admin_key, json={"name": unique_tag("wire-desk")})
    assert response.status_code == 201, describe(response)
    created = response.json()
    assert created["time_zone"] == "UTC" and created["status"] == "active"
    assert created["budget"] == {"flash_exceeds_budget": True}, "no caps unless the admin gives them"


ADMIN_REQUESTS = [
    ("POST", "/v1/subscribers", {"name": "not-allowed"}),
    ("GET", "/v1/subscribers", None),
    ("GET", "/v1/subscribers/{id}", None),
    ("POST", "/v1/subscribers/{id}/disable", None),
    ("POST", "/v1/subscribers/{id}/enable", None),
    ("POST", "/v1/subscribers/{id}/tokens", None),
]


@pytest.mark.parametrize("method, path, body", ADMIN_REQUESTS, ids=[f"{m} {p}" for m, p, _ in ADMIN_REQUESTS])
def test_subscriber_admin_needs_an_admin_key(server, desk_a, method, path, body):
    path = path.format(id=desk_a.id)
    kwargs = {"json": body} if body is not None else {}
    editor = server.request(method, path, key=server.editor_key, **kwargs)
    assert editor.status_code == 403, describe(editor)
    assert editor.json()["error"]["code"] == "forbidden"
    for key in (None, "nak_not-a-real-key", desk_a.token):
        refused = server.request(method, path, key=key, **kwargs)
        assert refused.status_code == 401, f"key {key!r}: {describe(refused)}"
    # Nothing changed.
    fetched = server.request("GET", f"/v1/subscribers/{desk_a.id}", key=server.admin_key)
    assert fetched.status_code == 200 and fetched.json() == desk_a.record, describe(fetched)


@pytest.mark.parametrize("body, field", [
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "+03:00"}, "time_zone"),
    ({"time_zone": "Beirut"}, "time_zone"),
    ({"time_zone": ""}, "time_zone"),
    ({"time_zone": 3}, "time_zone"),
    ({"budget": {"per_hour": -1}}, "budget.per_hour"),
    ({"colour": "red"}, "colour"),
], ids=["unknown-zone", "offset", "city-only", "empty-zone", "number-zone", "negative-budget", "unknown-field"])
def test_invalid_subscribers_are_refused_naming_the_field(server, body, field):
    name = unique_tag("refused-desk")
    response = server.request("POST", "/v1/subscribers", key=server.admin_key, json={"name": name, **body})
    assert field in problem_fields(response), describe(response)
    everyone = server.request("GET", "/v1/subscribers", key=server.admin_key, params={"limit": 1000}).json()["subscribers"]
    assert name not in {subscriber["name"] for subscriber in everyone}, "a refused subscriber was created"


def test_missing_name_is_refused(server):
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": None}):
        response = server.request("POST", "/v1/subscribers", key=server.admin_key, json=body)
        assert "name" in problem_fields(response), describe(response)


# --- a subscriber's own data -----------------------------------------------------------------


def test_another_subscribers_subscription_and_channel_are_invisible(server, desk_a, desk_b):
    channel = create_channel(server, desk_a, {"kind": "webhook", "url": PUBLIC_WEBHOOK + "/" + uuid.uuid4().hex[:8]})
    assert channel["id"].startswith("chn_") and channel["secret"].startswith("whsec_"), channel
    subscription = create_subscription(server, desk_a, never_matching_rule(channels=[channel["id"]]), name=unique_tag("a-only"))
    sub_id, channel_id = subscription["subscription_id"], channel["id"]
    assert subscription["subscriber_id"] == desk_a.id and subscription["version"] == 1

    # B cannot read, change or delete A's subscription: 404, exactly like an id that does not exist.
    missing_id = "sub_" + "0" * 20
    for method, body in (("GET", None), ("PATCH", {"status": "disabled"}), ("PATCH", {"rule": {"all": True}}), ("DELETE", None)):
        kwargs = {"json": body} if body is not None else {}
        foreign = server.request(method, f"/v1/subscriptions/{sub_id}", key=desk_b.token, **kwargs)
        assert foreign.status_code == 404, describe(foreign)
        missing = server.request(method, f"/v1/subscriptions/{missing_id}", key=desk_b.token, **kwargs)
        assert missing.status_code == 404, describe(missing)
        assert foreign.json() == missing.json(), "another subscriber's subscription must look like a missing one"
    # Nor delete A's channel or rotate its secret, nor use it in a rule.
    for method, path in (("DELETE", f"/v1/channels/{channel_id}"), ("POST", f"/v1/channels/{channel_id}/rotate-secret")):
        foreign = server.request(method, path, key=desk_b.token)
        assert foreign.status_code == 404, describe(foreign)
    borrowed = server.request("POST", "/v1/subscriptions", key=desk_b.token, json={"rule": never_matching_rule(channels=[channel_id])})
    assert problem_fields(borrowed) == ["rule.channels[0]"], describe(borrowed)
    # B's lists do not show them.
    assert sub_id not in listed(server, desk_b, "subscriptions")
    assert channel_id not in listed(server, desk_b, "channels")
    # The admin key is not a subscriber token.
    admin = server.request("GET", f"/v1/subscriptions/{sub_id}", key=server.admin_key)
    assert admin.status_code == 401, describe(admin)

    # A's are intact: same version, same status, same secret.
    mine = server.request("GET", f"/v1/subscriptions/{sub_id}", key=desk_a.token)
    assert mine.status_code == 200 and mine.json() == subscription, describe(mine)
    assert listed(server, desk_a, "subscriptions")[sub_id] == subscription
    channels = listed(server, desk_a, "channels")
    assert channel_id in channels, f"A's channel is gone: {channels}"
    assert (channels[channel_id]["version"], channels[channel_id]["status"]) == (1, "active"), channels[channel_id]
    assert "secret" not in channels[channel_id], "the secret is shown only when it is made"
    assert channels[channel_id]["secret_hints"] == [channel["secret"][:10] + "…"], channels[channel_id]

    # And A can still change and delete them.
    patched = server.request("PATCH", f"/v1/subscriptions/{sub_id}", key=desk_a.token, json={"status": "disabled"})
    assert patched.status_code == 200 and (patched.json()["status"], patched.json()["version"]) == ("disabled", 2), describe(patched)
    deleted = server.request("DELETE", f"/v1/subscriptions/{sub_id}", key=desk_a.token)
    assert deleted.status_code == 204, describe(deleted)
    gone = server.request("GET", f"/v1/subscriptions/{sub_id}", key=desk_a.token)
    assert gone.status_code == 404, describe(gone)
    assert server.request("DELETE", f"/v1/channels/{channel_id}", key=desk_a.token).status_code == 204
    assert channel_id not in listed(server, desk_a, "channels")


INVALID_SUBSCRIPTIONS = {
    "unknown section": ({"rule": {"sections": ["Videos"]}}, "rule.sections[0]"),
    "second section unknown": ({"rule": {"sections": ["Politics", "Weather"]}}, "rule.sections[1]"),
    "unknown region": ({"rule": {"regions": ["Mars"]}}, "rule.regions[0]"),
    "unbalanced quote": ({"rule": {"keywords": '"drone strike'}}, "rule.keywords"),
    "dangling OR": ({"rule": {"keywords": "(drone OR"}}, "rule.keywords"),
    "empty rule": ({"rule": {}}, "rule.all"),
    "only delivery": ({"rule": {"delivery": {"mode": "immediate"}}}, "rule.all"),
    "unknown field": ({"rule": {"regions": ["MENA"]}, "colour": "red"}, "colour"),
    "unknown rule field": ({"rule": {"regions": ["MENA"], "region": ["Europe"]}}, "rule.region"),
    "missing rule": ({"name": "no rule"}, "rule"),
    "channel that does not exist": ({"rule": {"regions": ["MENA"], "channels": ["chn_" + "0" * 20]}}, "rule.channels[0]"),
}


@pytest.mark.parametrize("case", INVALID_SUBSCRIPTIONS)
def test_invalid_subscriptions_are_refused_naming_the_field(server, desk_a, case):
    body, field = INVALID_SUBSCRIPTIONS[case]
    before = listed(server, desk_a, "subscriptions")
    response = server.request("POST", "/v1/subscriptions", key=desk_a.token, json=body)
    assert field in problem_fields(response), describe(response)
    assert listed(server, desk_a, "subscriptions") == before, "a refused subscription was created"


def test_invalid_patch_changes_nothing(server, desk_a):
    subscription = create_subscription(server, desk_a, never_matching_rule())
    path = f"/v1/subscriptions/{subscription['subscription_id']}"
    for body, field in (({"rule": {"sections": ["Videos"]}}, "rule.sections[0]"), ({"status": "paused"}, "status"),
                        ({"rule": {}}, "rule.all"), ({"owner": "sbr_x"}, "owner")):
        response = server.request("PATCH", path, key=desk_a.token, json=body)
        assert field in problem_fields(response), describe(response)
    unchanged = server.request("GET", path, key=desk_a.token)
    assert unchanged.status_code == 200 and unchanged.json() == subscription, describe(unchanged)
    assert server.request("DELETE", path, key=desk_a.token).status_code == 204


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://172.16.5.4:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "ftp://93.184.215.14/hook",
    "not a url",
])
def test_webhooks_to_internal_addresses_are_refused(server, desk_a, url):
    before = listed(server, desk_a, "channels")
    response = server.request("POST", "/v1/channels", key=desk_a.token, json={"kind": "webhook", "url": url})
    assert problem_fields(response) == ["url"], describe(response)
    assert listed(server, desk_a, "channels") == before, "a refused webhook channel was created"


def test_invalid_channels_are_refused_naming_the_field(server, desk_a):
    for body, field in (({"kind": "sms"}, "kind"), ({}, "kind"), ({"kind": "webhook"}, "url"),
                        ({"kind": "email", "address": "not an address"}, "address"), ({"kind": "email"}, "address"),
                        ({"kind": "ticker", "colour": "red"}, "colour")):
        response = server.request("POST", "/v1/channels", key=desk_a.token, json=body)
        assert field in problem_fields(response), f"{body}: {describe(response)}"


# --- subscriptions.changelog ------------------------------------------------------------------


@dataclass
class Changes:
    """What ``changes`` did through the API, to find on the changelog and in every replica."""

    subscriber: Subscriber
    live: dict[str, dict]      # id -> the entity as the API last answered it
    deleted: set[str]          # ids deleted through the API
    webhook_secrets: list[str]  # the webhook's secrets, newest first


@pytest.fixture(scope="module")
def changes(server) -> Changes:
    """Creates, changes and deletes a subscriber's channels and subscriptions."""
    owner = create_subscriber(server, "changelog-desk", time_zone="America/Argentina/Buenos_Aires",
                              budget={"per_day": 50, "flash_exceeds_budget": True})
    webhook = create_channel(server, owner, {"kind": "webhook", "url": PUBLIC_WEBHOOK + "/" + uuid.uuid4().hex[:8]})
    email = create_channel(server, owner, {"kind": "email", "address": f"{unique_tag('desk')}@example.org"})
    ticker = create_channel(server, owner, {"kind": "ticker"})
    rotated = server.request("POST", f"/v1/channels/{webhook['id']}/rotate-secret", key=owner.token)
    assert rotated.status_code == 200, describe(rotated)
    assert rotated.json()["secret"] != webhook["secret"]
    named = create_subscription(server, owner, never_matching_rule(channels=[webhook["id"], ticker["id"]]), name=unique_tag("named"))
    patched = server.request("PATCH", f"/v1/subscriptions/{named['subscription_id']}", key=owner.token,
                             json={"name": unique_tag("renamed"), "rule": never_matching_rule(
                                 channels=[ticker["id"]], quiet_hours={"start": "22:00", "end": "07:00", "allow_flash": True},
                                 delivery={"mode": "digest", "every": "daily", "at": "08:00"})})
    assert patched.status_code == 200 and patched.json()["version"] == 2, describe(patched)
    unnamed = create_subscription(server, owner, never_matching_rule())
    doomed = create_subscription(server, owner, never_matching_rule(kinds=["breaking"]), name=unique_tag("doomed"))
    for path in (f"/v1/subscriptions/{doomed['subscription_id']}", f"/v1/channels/{email['id']}"):
        response = server.request("DELETE", path, key=owner.token)
        assert response.status_code == 204, describe(response)
    disabled = server.request("POST", f"/v1/subscribers/{owner.id}/disable", key=server.admin_key)
    assert disabled.status_code == 200 and disabled.json()["version"] == 2, describe(disabled)
    return Changes(
        subscriber=owner,
        live={owner.id: disabled.json(), webhook["id"]: rotated.json(), ticker["id"]: ticker,
              named["subscription_id"]: patched.json(), unnamed["subscription_id"]: unnamed},
        deleted={doomed["subscription_id"], email["id"]},
        webhook_secrets=[rotated.json()["secret"], webhook["secret"]])


@dataclass
class ChangelogRecord:
    partition: int
    offset: int
    key: str
    value: dict | None


def read_changelog(bootstrap: str, until, timeout: float = CHANGELOG_TIMEOUT) -> list[ChangelogRecord]:
    """Reads subscriptions.changelog from the start (a fresh group), until ``until(records)`` holds
    and then no record came for IDLE_SECONDS; fails after ``timeout`` if ``until`` never holds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_tag("changelog-test"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    records: list[ChangelogRecord] = []
    try:
        consumer.subscribe([CHANGELOG_TOPIC])
        deadline = time.monotonic() + timeout
        last_record = time.monotonic()
        while True:
            message = consumer.poll(0.2)
            now = time.monotonic()
            if message is not None:
                if message.error():
                    raise KafkaException(message.error())
                value = message.value()
                records.append(ChangelogRecord(message.partition(), message.offset(), message.key().decode("utf-8"),
                                               None if value is None else json.loads(value)))
                last_record = now
                continue
            if until(records) and now - last_record >= IDLE_SECONDS:
                return records
            if now > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s reading {CHANGELOG_TOPIC}: {len(records)} records, "
                            f"the expected ones not among them")
    finally:
        consumer.close()


def latest_by_key(records: list[ChangelogRecord]) -> dict[str, ChangelogRecord]:
    latest: dict[str, ChangelogRecord] = {}
    for record in records:
        latest[record.key] = record
    return latest


def changelog_validators() -> dict[str, Draft202012Validator]:
    resources = [Resource.from_contents(load_schema(path.name)) for path in SCHEMAS_DIR.glob("*.schema.json")]
    registry = Registry().with_resources((resource.id(), resource) for resource in resources if resource.id())
    return {entity: Draft202012Validator(load_schema(name), registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
            for entity, name in CHANGELOG_SCHEMAS.items()}


def reached(changes: Changes):
    """Whether the records read so far end every changed id in its final state."""
    def check(records: list[ChangelogRecord]) -> bool:
        latest = latest_by_key(records)
        return (all(key in latest and latest[key].value is None for key in changes.deleted)
                and all(key in latest and latest[key].value is not None and latest[key].value["version"] == entity["version"]
                        for key, entity in changes.live.items()))
    return check


def test_every_change_is_on_the_changelog_and_matches_its_schema(server, changes):
    records = read_changelog(server.bootstrap_servers, reached(changes))
    validators = changelog_validators()
    problems = []
    partitions: dict[str, set[int]] = {}
    versions: dict[str, int] = {}
    for record in records:
        where = f"{CHANGELOG_TOPIC}[{record.partition}]@{record.offset} key={record.key}"
        partitions.setdefault(record.key, set()).add(record.partition)
        if not re.match(r"^(?:sbr|chn|sub)_", record.key):
            problems.append(f"{where}: the key's prefix names no entity")
        if record.value is None:
            continue
        entity = record.value.get("entity")
        if entity not in validators:
            problems.append(f"{where}: entity {entity!r}")
            continue
        problems += [f"{where}: {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
                     for error in validators[entity].iter_errors(record.value)]
        if record.value.get(ID_FIELD[entity]) != record.key or not record.key.startswith(ID_PREFIX[entity]):
            problems.append(f"{where}: key does not match the {entity}'s {ID_FIELD[entity]} {record.value.get(ID_FIELD[entity])!r}")
        # A key's versions only go up, in the order of the partition.
        if record.value.get("version", 0) <= versions.get(record.key, 0):
            problems.append(f"{where}: version {record.value.get('version')} after {versions[record.key]}")
        versions[record.key] = record.value.get("version", 0)
    assert not problems, "\n".join(problems[:50])
    spread = {key: sorted(found) for key, found in partitions.items() if len(found) > 1}
    assert not spread, f"records of one key on several partitions: {spread}"

    latest = latest_by_key(records)
    for key in changes.deleted:
        assert latest[key].value is None, f"{key} was deleted but its last record is {latest[key].value}"
        assert any(record.key == key and record.value is not None for record in records), f"{key}: no record before its tombstone"
    owner = changes.subscriber
    for key, entity in changes.live.items():
        value = latest[key].value
        if key.startswith("sbr_"):
            assert value == {**entity, "entity": "subscriber"}, key
        elif key.startswith("sub_"):
            expected = {**entity, "entity": "subscription", "subscriber_time_zone": owner.time_zone}
            assert value == expected, f"{key}: the record is not the subscription the API answered"
        else:
            assert {name: value[name] for name in ("channel_id", "subscriber_id", "kind", "target", "status", "version", "changed_at")} == {
                "channel_id": entity["id"], "subscriber_id": owner.id, "kind": entity["kind"], "target": entity["target"],
                "status": entity["status"], "version": entity["version"], "changed_at": entity["changed_at"]}, key
            assert value.get("disabled_reason") == entity["disabled_reason"], key
            if entity["kind"] == "webhook":
                assert value["secrets"] == changes.webhook_secrets, "the secrets, newest first, after one rotation"
                assert value["version"] == 2
            else:
                assert value["secrets"] == []


# --- replay into fresh fan-out nodes ------------------------------------------------------------


def dump(run_newsalert, data_dir: Path) -> str:
    result = run_newsalert("subscriptions", "dump", "--data-dir", os.fspath(data_dir), check=True)
    return result.stdout


def dumped_ids(text: str) -> set[str]:
    return {line.split("\t", 1)[0] for line in text.splitlines() if line.strip()}


def listening(process) -> bool:
    """Whether a starting node printed `listening on`; fails at once if it exited."""
    if re.search(r"^listening on http://\S+", process.stdout(), re.MULTILINE):
        return True
    if not process.running():
        pytest.fail(f"{process.name} exited before listening\n{process.describe()}")
    return False


def test_fresh_fanout_nodes_replay_the_changelog_into_identical_stores(server, changes, spawn, run_newsalert, newsalert_bin,
                                                                        tmp_path):
    # The changes are on the topic before the nodes start (so they replay, not follow).
    read_changelog(server.bootstrap_servers, reached(changes))
    nodes = []
    for index in range(2):
        data_dir = tmp_path / f"fanout-{index}"
        data_dir.mkdir()
        process = spawn([newsalert_bin, "fanout", "--bootstrap-servers", server.bootstrap_servers, "--data-dir", data_dir,
                         "--port", "0", "--fanout-group", unique_tag(f"replay-test-{index}")], name=f"newsalert-fanout-{index}")
        nodes.append((process, data_dir))
    for process, _ in nodes:
        wait_until(lambda: listening(process), REPLAY_TIMEOUT, interval=0.1, message=f"{process.name} to listen")

    dumps = {}
    for process, data_dir in nodes:
        last = {}

        def caught_up() -> bool:
            if not process.running():
                pytest.fail(f"the fan-out node exited\n{process.describe()}")
            last["server"], last["node"] = dump(run_newsalert, server.data_dir), dump(run_newsalert, data_dir)
            return last["server"] == last["node"]

        deadline = time.monotonic() + REPLAY_TIMEOUT
        while not caught_up():
            if time.monotonic() > deadline:
                missing = sorted(dumped_ids(last["server"]) - dumped_ids(last["node"]))
                extra = sorted(dumped_ids(last["node"]) - dumped_ids(last["server"]))
                differing = sorted(set(last["server"].splitlines()) ^ set(last["node"].splitlines()))
                pytest.fail(f"{process.name} did not replay the changelog within {REPLAY_TIMEOUT:.0f} s: "
                            f"missing {missing[:20]}, extra {extra[:20]}, differing lines:\n" + "\n".join(differing[:20])
                            + f"\n{process.describe()}")
            time.sleep(0.5)
        assert process.running(), f"the fan-out node should keep running after the replay\n{process.describe()}"
        dumps[process.name] = last["node"]

    for process, _ in nodes:
        process.stop()
    first, second = dumps.values()
    assert first == second, "the two fan-out nodes hold different stores"
    ids = dumped_ids(first)
    assert not ids & changes.deleted, f"deleted ids replayed: {ids & changes.deleted}"
    assert set(changes.live) <= ids, f"missing: {set(changes.live) - ids}"
    # The dump is changelog JSON: the subscriber as the server has it.
    lines = dict(line.split("\t", 1) for line in first.splitlines() if line.strip())
    assert json.loads(lines[changes.subscriber.id]) == {**changes.live[changes.subscriber.id], "entity": "subscriber"}


def test_a_restarted_server_puts_its_subscriptions_on_the_new_brokers_changelog(newsalert_bin, tmp_path):
    # The embedded broker keeps nothing across a restart while the data directory keeps everything: the new
    # changelog must carry the whole state again, and new events must be accepted at positions the old log used.
    workdir = tmp_path / "restarted"
    workdir.mkdir()
    with own_newsalert_server(newsalert_bin, workdir) as first:
        desk = create_subscriber(first, "restart-desk", time_zone="Asia/Beirut")
        channel = create_channel(first, desk, {"kind": "webhook", "url": PUBLIC_WEBHOOK})
        rule = create_subscription(first, desk, never_matching_rule())
        before = [post_event(first, unique_tag("before the restart")) for _ in range(6)]
    with own_newsalert_server(newsalert_bin, workdir) as second:
        changelog = TopicReader(second.bootstrap_servers, CHANGELOG_TOPIC)
        try:
            for key in (desk.id, channel["id"], rule["subscription_id"]):
                wait_for_changelog(changelog, key, what="on the restarted broker")
        finally:
            changelog.close()
        after = [post_event(second, unique_tag("after the restart")) for _ in range(12)]
        for event_id in before + after:
            call(second, "GET", f"/v1/events/{event_id}", second.editor_key, 200)


# --- preview ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview_desk(server) -> Subscriber:
    """A subscriber in Beirut whose preview has recent MENA events to look at."""
    desk = create_subscriber(server, "preview-desk", time_zone="Asia/Beirut")
    for line in PREVIEW_LINES:
        response = server.request("POST", "/v1/events", key=server.editor_key, json={"kind": "breaking", "headline": line})
        assert response.status_code == 202, describe(response)
    return desk


def preview(server, desk: Subscriber, rule: dict, **extra) -> dict:
    response = server.request("POST", "/v1/subscriptions/preview", key=desk.token, json={"rule": rule, **extra})
    assert response.status_code == 200, describe(response)
    result = response.json()
    outcomes = result["outcomes"]
    assert set(outcomes) == {"sent_now", "held_for_quiet_hours", "held_for_digest", "dropped_by_budget"}, outcomes
    assert sum(outcomes.values()) == result["matched"], result
    assert result["changed_by_policy"] == result["matched"] - outcomes["sent_now"], result
    assert result["matched"] <= result["events_considered"], result
    assert len(result["items"]) == min(result["matched"], 100), "items: every match, newest first, at most 100"
    assert (result["stories"] >= 1) == (result["matched"] >= 1) and result["stories"] <= result["matched"], result
    published = [item["published_at"] for item in result["items"]]
    assert published == sorted(published, reverse=True), "items are newest first"
    for item in result["items"]:
        assert item["outcome"] in outcomes and item["decision"].strip() and item["reasons"], item
    return result


def mena_preview(server, desk: Subscriber) -> dict:
    return wait_until(lambda: (lambda result: result if result["matched"] >= 1 else None)(preview(server, desk, {"regions": ["MENA"]})),
                      PREVIEW_TIMEOUT, interval=0.5, message="a preview of regions MENA to match the posted lines")


def test_preview_explains_matches(server, preview_desk):
    result = mena_preview(server, preview_desk)
    for item in result["items"]:
        assert {"clause": "regions", "value": "MENA"} in item["reasons"], item
        assert item["event_id"].startswith("evt_") and item["story_id"].startswith("story-"), item
    # No quiet hours, no digest, no budget: every match is sent at once.
    assert result["outcomes"]["sent_now"] == result["matched"], result
    # A rule matching nothing matches nothing.
    nothing = preview(server, preview_desk, never_matching_rule())
    assert nothing["matched"] == 0 and nothing["items"] == [] and nothing["events_considered"] >= result["matched"], nothing


def in_last_minute_of_the_day(item: dict, zone: str) -> bool:
    published = datetime.fromisoformat(item["published_at"].replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return (published.hour, published.minute) == (23, 59)


@pytest.mark.parametrize("allow_flash", [False, True])
def test_preview_holds_matches_in_quiet_hours(server, preview_desk, allow_flash):
    plain = mena_preview(server, preview_desk)
    rule = {"regions": ["MENA"], "quiet_hours": {"start": "00:00", "end": "23:59", "allow_flash": allow_flash}}
    result = preview(server, preview_desk, rule)
    assert result["matched"] >= plain["matched"] >= 1, "quiet hours change what happens to a match, not what matches"
    for item in result["items"]:
        if in_last_minute_of_the_day(item, preview_desk.time_zone):
            continue  # outside 00:00–23:59
        expected = "sent_now" if allow_flash and item["urgency"] == 1 else "held_for_quiet_hours"
        assert item["outcome"] == expected, item


def test_preview_holds_matches_for_a_digest(server, preview_desk):
    mena_preview(server, preview_desk)
    for delivery in ({"mode": "digest", "every": "hourly"}, {"mode": "digest", "every": "daily", "at": "08:00"}):
        result = preview(server, preview_desk, {"regions": ["MENA"], "delivery": delivery})
        assert result["matched"] >= 1, result
        assert result["outcomes"]["held_for_digest"] == result["matched"], f"{delivery}: {result['outcomes']}"
        assert all(item["outcome"] == "held_for_digest" for item in result["items"]), delivery


def test_preview_applies_the_subscribers_budget(server, preview_desk):
    mena_preview(server, preview_desk)
    strict = create_subscriber(server, "no-budget-desk", budget={"per_hour": 0, "per_day": 0, "flash_exceeds_budget": False})
    result = preview(server, strict, {"regions": ["MENA"]})
    assert result["matched"] >= 1, result
    assert result["outcomes"]["dropped_by_budget"] == result["matched"], result["outcomes"]


@pytest.mark.parametrize("body, field", [
    ({"rule": {}}, "rule.all"),
    ({"rule": {"sections": ["Videos"]}}, "rule.sections[0]"),
    ({"rule": {"keywords": '"unclosed'}}, "rule.keywords"),
    ({"rule": {"regions": ["MENA"], "quiet_hours": {"start": "22:00", "end": "7:00"}}}, "rule.quiet_hours.end"),
    ({}, "rule"),
    ({"rule": {"regions": ["MENA"]}, "limit": 0}, "limit"),
    ({"rule": {"regions": ["MENA"]}, "colour": "red"}, "colour"),
], ids=["empty-rule", "unknown-section", "bad-keywords", "bad-quiet-hours", "no-rule", "limit-0", "unknown-field"])
def test_preview_of_an_invalid_rule_is_refused(server, desk_a, body, field):
    response = server.request("POST", "/v1/subscriptions/preview", key=desk_a.token, json=body)
    fields = problem_fields(response)
    assert any(found == field or found.startswith(field + ".") or found.startswith(field + "[") for found in fields), describe(response)


def test_preview_needs_a_subscriber_token(server):
    for key in (None, server.admin_key, server.editor_key):
        response = server.request("POST", "/v1/subscriptions/preview", key=key, json={"rule": {"all": True}})
        assert response.status_code == 401, describe(response)
