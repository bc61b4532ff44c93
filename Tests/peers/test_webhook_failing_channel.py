"""A webhook endpoint that keeps failing is disabled after `--disable-failing-after` without one success.

Its own server: retries every second, a channel failing for 4 s without one success is disabled, its delivery
goes dead (and to news.deadletter), the subscriber gets a `notice` on its other channel, and later events send
the disabled one nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from conftest import CHANGELOG_TOPIC, NewsalertServer, TopicReader, own_newsalert_server, schema_errors, wait_for_changelog
from test_webhook_delivery import ALERT_VALIDATOR, Receiver, call, deliveries, new_subscriber, one_alert, post_event, wait_for_delivery

FAILING_AFTER = 4


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("failing-channel"),
                              ["--webhook-allow", "127.0.0.1/32", "--retry-delays", "0,1,1,1,1,1,1,1,1,1,1,1",
                               "--webhook-timeout", "2", "--disable-failing-after", str(FAILING_AFTER)]) as server_:
        yield server_


def test_a_channel_failing_too_long_is_disabled(server):
    receiver = Receiver()
    changelog = TopicReader(server.bootstrap_servers, CHANGELOG_TOPIC)
    try:
        path, healthy, tag = "/hook/always-500", "/hook/healthy", f"failing-{uuid.uuid4().hex[:8]}"
        receiver.script(path, 500)
        subscriber = new_subscriber(server, receiver, changelog, "failing", {"tags": [tag]}, [path, healthy])
        channel_id = subscriber.channel(path)["id"]
        started = time.monotonic()
        event_id = post_event(server, "Lebanese Health Ministry: Toll from the strike on Nabatieh rises", [tag])
        first = one_alert(receiver, path, event_id, server)[0]
        delivery = wait_for_delivery(server, subscriber, first.headers["webhook-id"], {"dead", "failed", "delivered"}, timeout=60)
        assert delivery["state"] == "dead", delivery
        assert "without one success" in delivery["reason"], delivery
        # Fewer attempts than the schedule allows: the time limit, not the schedule, ended it.
        assert len(delivery["attempts"]) < 12, delivery["attempts"]
        assert time.monotonic() - started >= FAILING_AFTER
        wait_for_changelog(changelog, channel_id, lambda value: value["status"] == "disabled", "(disabled)")
        channels = call(server, "GET", "/v1/channels", subscriber.token, 200)["channels"]
        channel = next(c for c in channels if c["id"] == channel_id)
        assert channel["status"] == "disabled" and "without one success" in channel["disabled_reason"], channel

        # The subscriber is told on its other channel, in a signed `notice`.
        def notice_arrived():
            for request in receiver.requests(healthy):
                body = json.loads(request.body)
                if body["type"] == "notice":
                    return body
            return None
        deadline = time.monotonic() + 30
        while (notice := notice_arrived()) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert notice is not None, "no notice arrived on the healthy channel"
        assert receiver.url(path) in notice["event"]["headline"] and "without one success" in notice["event"]["headline"], notice
        assert notice["matched"] == [] and notice["channel_id"] == subscriber.channel(healthy)["id"], notice
        assert schema_errors(ALERT_VALIDATOR, notice) == []

        requests_before = len(receiver.requests(path))
        later = post_event(server, "Lebanese Health Ministry: Rescue work ends in Nabatieh", [tag])
        time.sleep(3)
        assert len(receiver.requests(path)) == requests_before, "a disabled channel got another request"
        assert all(d["event_id"] != later or d["state"] != "delivered" for d in deliveries(server, subscriber) if d["channel_id"] == channel_id)
    finally:
        changelog.close()
        receiver.close()
