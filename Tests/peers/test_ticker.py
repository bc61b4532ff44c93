"""The live ticker (`GET /v1/ticker`, WebSocket, and `GET /v1/ticker/stream`, Server-Sent Events) as
independent clients see it.

Clients here are the `websockets` library (sync client), a raw TCP socket that does the WebSocket
handshake itself and then stops reading, `sseclient-py` reading a streamed `requests` response, and
headless Chromium showing the BREAKING bar at `/`.

Covered:

* anonymous filters (`regions`, `sections`): an item reaches the clients whose filter admits it and
  no other; positions strictly increase on every connection; item frames carry what was posted and
  never the subscriber audience;
* resuming with `since` + `epoch` (exactly the missed items, in order, once), a wrong epoch (a gap
  frame first, then the retained items) and a position older than a `--ticker-window 2` (a gap
  naming the missing range, then the two retained items);
* a subscriber token: only the items its subscription matched;
* stories on the wire: an update keeps the story id (type `update`), a kill is a `retraction`;
* a client that stops reading is closed with 1008 once it is more than `--ticker-client-buffer 5`
  frames behind, while a reading client gets everything;
* browser origins: another origin is refused, the server's own and `--ticker-origins` accepted;
* heartbeats;
* the page at `/` in Chromium: live status, new lines on top, an update replacing its story's line,
  a kill striking it out, nothing loaded from elsewhere, no console errors, and after the server
  restarts (a new embedded cluster, so a new epoch) it reconnects by itself, shows a gap notice and
  carries on;
* Server-Sent Events: the same frames as `event: item` with `id: <epoch>:<position>` (equal to the
  WebSocket's frame for the same item), a `retry:` line first; resuming with `Last-Event-ID`
  (exactly the missed items), a foreign epoch in it (a `gap` event first); bad input (a malformed
  `Last-Event-ID`, an unknown filter value, an unknown token, no `Accept: text/event-stream`)
  refused with a JSON error before any stream;
* the page at `/` in Chromium with every WebSocket handshake refused (a script injected through CDP
  before the page's own points them at a path the server answers 404): it falls back to EventSource
  and shows a newly posted line.

Posted lines are new stories on purpose: a place name and random words (so they do not thread into
each other or into other tests' stories on the shared server), except the two-line stories of the
update tests, whose second line threads into the first by design. Every wait is bounded and no
assertion depends on how fast anything is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import sseclient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from conftest import (
    BackgroundProcess, NewsalertServer, create_api_key, describe, free_port, load_schema, newsalert_serve_status,
    wait_for_serve,
)
from test_newsroom_console import (  # noqa: F401  (browser is a fixture)
    assert_nothing_external, browser, console_errors, wait_for,
)

# From POST /v1/events to a ticker frame: enrich and fan-out each read Kafka (their consumer
# groups' first joins take a few seconds on a fresh server).
FRAME_TIMEOUT = 30.0
STORY_ID = re.compile(r"^story-evt_[0-9a-z]+$")
EVENT_ID = re.compile(r"^evt_[0-9a-z]+$")
ITEM_TYPES = {"alert", "update", "correction", "retraction"}
HEARTBEAT_INTERVAL = 15.0  # the server's heartbeat period

# Every frame must be a `TickerFrame` of schemas/openapi.yaml (an item, a gap or a heartbeat).
_OPENAPI = "urn:newsalert:openapi"
FRAME_VALIDATOR = Draft202012Validator(
    {"$ref": f"{_OPENAPI}#/components/schemas/TickerFrame"},
    registry=Registry().with_resource(_OPENAPI, Resource(contents=load_schema("openapi.yaml"), specification=DRAFT202012)),
    format_checker=Draft202012Validator.FORMAT_CHECKER)

# Two-line stories: the second line threads into the first as an update (a shared town, similar
# text, a new detail). Each story is used by one test only.
MARWAHIN = ("Al Mayadeen's correspondent in South Lebanon: Israeli drone targets a house in the town of Marwahin",
            "Al Mayadeen's correspondent in South Lebanon: Two martyred in the Israeli drone strike on a house in the town of Marwahin")
NAQOURA = ("Al Mayadeen's correspondent: Israeli artillery shells the outskirts of Naqoura",
           "Lebanese Civil Defense: Three injured as Israeli artillery shells the outskirts of Naqoura")


# --- posting -----------------------------------------------------------------------------------


def line(place: str, words: int = 8) -> str:
    """A breaking line about ``place`` that is a story of its own (random words share nothing)."""
    return f"{place}: " + " ".join(uuid.uuid4().hex[:6] for _ in range(words))


def post_line(server: NewsalertServer, headline: str, **fields) -> str:
    """POST /v1/events (kind breaking); returns the event id."""
    response = server.request("POST", "/v1/events", key=server.editor_key,
                              json={"kind": "breaking", "headline": headline, **fields})
    assert response.status_code == 202, describe(response)
    return response.json()["id"]


def kill(server: NewsalertServer, event_id: str, reason: str) -> str:
    """POST /v1/events/{id}/kill; returns the kill's event id."""
    response = server.request("POST", f"/v1/events/{event_id}/kill", key=server.editor_key, json={"reason": reason})
    assert response.status_code == 202, describe(response)
    return response.json()["id"]


# --- WebSocket clients -------------------------------------------------------------------------


def ticker_url(server: NewsalertServer, **query) -> str:
    base = server.base_url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return f"{base}/v1/ticker" + (f"?{urlencode(query)}" if query else "")


def origin_of(server: NewsalertServer) -> str:
    return "{0.scheme}://{0.netloc}".format(urlsplit(server.base_url))


def check_item(frame: dict) -> None:
    """The shape every item frame has, whatever it carries."""
    assert frame["type"] in ITEM_TYPES, frame
    assert isinstance(frame["position"], int) and frame["position"] >= 0, frame
    assert isinstance(frame["epoch"], str) and frame["epoch"], frame
    assert STORY_ID.match(frame["story"]["story_id"]), frame
    assert isinstance(frame["story"]["sequence"], int) and frame["story"]["sequence"] >= 1, frame
    event = frame["event"]
    assert EVENT_ID.match(event["id"]), frame
    for field in ("kind", "headline", "section", "regions", "countries", "urgency", "published_at", "status"):
        assert field in event, f"item without event.{field}: {frame}"
    # Who else the item was for is nobody's business.
    assert "audience" not in frame and "audience" not in event, f"an item frame shows its audience: {frame}"


class TickerClient:
    """One ticker connection (websockets, sync). Keeps every frame; checks each item frame's shape and
    that positions strictly increase on the connection."""

    def __init__(self, server: NewsalertServer, headers: dict | None = None, origin: str | None = None, **query):
        self.url = ticker_url(server, **query)
        self.connection: ClientConnection = connect(self.url, additional_headers=headers, origin=origin,
                                                    max_size=None, open_timeout=15, close_timeout=2, legacy=True)
        self.frames: list[dict] = []

    @property
    def items(self) -> list[dict]:
        return [frame for frame in self.frames if frame.get("type") in ITEM_TYPES]

    def _receive(self, timeout: float) -> dict | None:
        try:
            text = self.connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        frame = json.loads(text)
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in FRAME_VALIDATOR.iter_errors(frame)]
        assert errors == [], f"not a TickerFrame of openapi.yaml: {text[:600]}\n{errors}"
        if frame.get("type") in ITEM_TYPES:
            check_item(frame)
            previous = self.items[-1:] if self.items else []
            assert not previous or frame["position"] > previous[0]["position"], (
                f"position {frame['position']} after {previous[0]['position']} on {self.url}")
        self.frames.append(frame)
        return frame

    def wait_for(self, predicate: Callable[[list[dict]], object], message: str, timeout: float = FRAME_TIMEOUT):
        """Reads until ``predicate(frames)`` is truthy (returned); fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.frames)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {message} on {self.url}; frames so far:\n"
                            + "\n".join(json.dumps(frame)[:300] for frame in self.frames[-20:]))
            self._receive(min(remaining, 1.0))

    def wait_for_event(self, event_id: str, timeout: float = FRAME_TIMEOUT) -> dict:
        return self.wait_for(lambda frames: next((f for f in frames if f.get("event", {}).get("id") == event_id), None),
                             f"the item of {event_id}", timeout)

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def clients() -> Iterator[Callable[..., TickerClient]]:
    """Factory: ``clients(server, headers=None, origin=None, **query)``; all closed at teardown."""
    opened: list[TickerClient] = []

    def open_client(server: NewsalertServer, headers: dict | None = None, origin: str | None = None, **query) -> TickerClient:
        client = TickerClient(server, headers=headers, origin=origin, **query)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def refused_status(url: str, **kwargs) -> int:
    """The HTTP status of a refused upgrade (fails if the upgrade succeeds)."""
    try:
        with connect(url, open_timeout=15, close_timeout=5, **kwargs):
            pass
    except InvalidStatus as refused:
        return refused.response.status_code
    pytest.fail(f"the ticker accepted {url} ({kwargs})")


# --- servers of this module's own --------------------------------------------------------------


def start_serve(newsalert_bin: Path, workdir: Path, data_dir: Path, port: int, *options: str,
                keys: tuple[str, str] | None = None) -> NewsalertServer:
    """`newsalert serve --port PORT --data-dir DIR OPTIONS…`, waited for; makes the API keys unless given."""
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"serve-{uuid.uuid4().hex[:6]}"
    argv = [os.fspath(newsalert_bin), "serve", "--port", str(port), "--data-dir", os.fspath(data_dir), *options]
    stdout_path, stderr_path = workdir / f"{stem}.stdout", workdir / f"{stem}.stderr"
    stdout, stderr = stdout_path.open("wb"), stderr_path.open("wb")
    popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    process = BackgroundProcess("newsalert-serve", argv, popen, stdout_path, stderr_path, [stdout, stderr])
    try:
        base_url, bootstrap_servers = wait_for_serve(process)
        editor, admin = keys or (create_api_key(newsalert_bin, data_dir, "editor"), create_api_key(newsalert_bin, data_dir, "admin"))
    except BaseException:
        process.stop()
        raise
    return NewsalertServer(base_url=base_url, bootstrap_servers=bootstrap_servers, data_dir=data_dir,
                           editor_key=editor, admin_key=admin, process=process)


DESK_ORIGIN = "http://desk.example"


@pytest.fixture(scope="module")
def small_server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    """A fresh server that keeps 2 items for resuming clients, drops clients more than 5 frames
    behind, and also admits browser pages from DESK_ORIGIN."""
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    workdir = tmp_path_factory.mktemp("ticker-small")
    server = start_serve(newsalert_bin, workdir, workdir / "data", free_port(),
                         "--ticker-window", "2", "--ticker-client-buffer", "5", "--ticker-origins", DESK_ORIGIN)
    try:
        yield server
    finally:
        server.process.stop()


# --- 1. anonymous filters ----------------------------------------------------------------------


def test_filters_route_items_to_the_clients_that_asked(newsalert_server, clients):
    server = newsalert_server
    mena = clients(server, regions="MENA", backlog=0)
    economy = clients(server, sections="Economy", backlog=0)
    everything = clients(server, backlog=0)

    headline = line("Lebanese army in Beirut")
    event_id = post_line(server, headline, section="Politics", urgency=2)
    item = mena.wait_for_event(event_id)
    assert item["type"] == "alert", item
    assert item["story"]["story_id"] == f"story-{event_id}" and item["story"]["sequence"] == 1, item
    assert "update_of" not in item["story"] or item["story"]["update_of"] is None, item
    event = item["event"]
    assert (event["headline"], event["kind"], event["section"], event["urgency"], event["status"]) == (
        headline, "breaking", "Politics", 2, "usable"), event
    assert "MENA" in event["regions"] and "LB" in event["countries"], event
    assert everything.wait_for_event(event_id) == item, "two clients got different frames for one item"

    # An item for the Economy client, posted after the first one is on the log (so it comes later):
    # once that client has it, it would have had the MENA item before it, were it admitted.
    economy_id = post_line(server, line("Iraqi Central Bank in Baghdad"), section="Economy")
    sentinel = economy.wait_for_event(economy_id)
    assert sentinel["position"] > item["position"]
    assert [frame["event"]["id"] for frame in economy.items] == [economy_id], (
        f"the sections=Economy client got other items: {economy.items}")
    assert all(frame["event"]["section"] == "Economy" for frame in economy.items)
    everything.wait_for_event(economy_id)
    # Nor does the MENA client get the Economy line unless enrichment put it in MENA.
    mena_seen = {frame["event"]["id"] for frame in mena.items}
    if economy_id in mena_seen:
        assert "MENA" in sentinel["event"]["regions"], sentinel
    assert all("MENA" in frame["event"]["regions"] for frame in mena.items), mena.items
    assert event_id in mena_seen and event_id not in {frame["event"]["id"] for frame in economy.items}


def refused_on_the_socket(url: str, **kwargs) -> tuple[dict, int]:
    """The error frame and close code of a connection the server refuses after the upgrade."""
    with connect(url, open_timeout=15, close_timeout=5, **kwargs) as socket_:
        frame = json.loads(socket_.recv(timeout=15))
        try:
            socket_.recv(timeout=15)
            pytest.fail(f"the ticker kept {url} open after {frame}")
        except ConnectionClosed as closed:
            return frame, closed.rcvd.code if closed.rcvd else -1


def test_unknown_filter_values_and_bad_parameters_are_refused(newsalert_server):
    """Answered on the socket: an error frame naming the parameter, then close code 4422."""
    for query in ({"regions": "Atlantis"}, {"sections": "Gossip"}, {"kinds": "rumour"}, {"backlog": "501"},
                  {"backlog": "-1"}, {"since": "-5"}, {"since": "abc"}):
        frame, code = refused_on_the_socket(ticker_url(newsalert_server, **query))
        assert frame["type"] == "error" and frame["code"] == "invalid_fields", (query, frame)
        assert next(iter(query)) in [problem["field"] for problem in frame["fields"]], (query, frame)
        assert code == 4422, (query, code)


# --- 2. resuming -------------------------------------------------------------------------------


def test_resume_with_since_and_epoch_gets_exactly_the_missed_items(newsalert_server, clients):
    server = newsalert_server
    observer = clients(server, backlog=0)
    first = clients(server, backlog=0)
    first_id = post_line(server, line("Syrian Foreign Ministry in Damascus"))
    seen = first.wait_for_event(first_id)
    position, epoch = seen["position"], seen["epoch"]
    first.close()

    missed = [post_line(server, line("Jordanian government in Amman")), post_line(server, line("Yemeni Armed Forces in Sanaa"))]
    missed_frames = sorted((observer.wait_for_event(event_id) for event_id in missed), key=lambda f: f["position"])

    resumed = clients(server, since=position, epoch=epoch)
    # A line posted now comes after the replay: everything before it is the replay.
    after_id = post_line(server, line("Qatari Foreign Ministry in Doha"))
    resumed.wait_for_event(after_id)
    replay = [frame for frame in resumed.frames if frame["event"]["id"] != after_id]
    assert all(frame["type"] in ITEM_TYPES for frame in replay), f"a gap or heartbeat in a clean resume: {replay}"
    assert [frame["event"]["id"] for frame in replay] == [frame["event"]["id"] for frame in missed_frames], (
        f"resuming after {position} replayed {[(f['position'], f['event']['id']) for f in replay]}, "
        f"expected {[(f['position'], f['event']['id']) for f in missed_frames]}")
    assert replay == missed_frames, "a replayed frame differs from the live one"
    assert all(frame["position"] > position for frame in replay)


def test_resume_with_a_wrong_epoch_gets_a_gap_then_the_retained_items(newsalert_server, clients):
    server = newsalert_server
    observer = clients(server, backlog=0)
    event_id = post_line(server, line("Omani Foreign Ministry in Muscat"))
    latest = observer.wait_for_event(event_id)

    resumed = clients(server, since=latest["position"], epoch="not-this-log")
    resumed.wait_for_event(event_id)
    gap = resumed.frames[0]
    assert gap["type"] == "gap", f"the first frame is not a gap: {resumed.frames[:3]}"
    assert gap["epoch"] == latest["epoch"] and gap["from"] == 0, gap
    assert gap["to"] is None or gap["to"] >= latest["position"], gap
    assert isinstance(gap["reason"], str) and gap["reason"].strip(), gap
    # Then the whole retained window (default 10000: everything on this server so far), in order.
    items = resumed.frames[1:]
    assert all(frame["type"] in ITEM_TYPES for frame in items), items[:5]
    assert items[-1]["event"]["id"] == event_id, items[-3:]
    assert all(frame["epoch"] == latest["epoch"] for frame in items)
    assert [f["position"] for f in items] == sorted({f["position"] for f in items})


def test_resume_older_than_the_window_gets_a_gap_naming_the_missing_range(small_server, clients):
    server = small_server
    observer = clients(server, backlog=0)
    posted = [post_line(server, line(place)) for place in ("Tehran", "Isfahan", "Bushehr", "Mashhad", "Tabriz")]
    frames = sorted((observer.wait_for_event(event_id) for event_id in posted), key=lambda f: f["position"])
    positions = [frame["position"] for frame in frames]
    latest = observer.items[-1]
    assert latest["position"] == positions[-1], "other items came after the five"
    oldest = positions[0]

    resumed = clients(server, since=oldest, epoch=frames[0]["epoch"])
    resumed.wait_for_event(frames[-1]["event"]["id"])
    gap, *items = resumed.frames
    assert gap["type"] == "gap", f"expected a gap first: {resumed.frames}"
    # The window holds the last two positions; everything after `oldest` before them is gone.
    retained = sorted(p for p in {f["position"] for f in observer.items})[-2:]
    assert retained == positions[-2:]
    assert (gap["from"], gap["to"], gap["epoch"]) == (oldest + 1, retained[0] - 1, frames[0]["epoch"]), gap
    assert [frame["position"] for frame in items] == retained, items
    assert [frame["event"]["id"] for frame in items] == [frame["event"]["id"] for frame in frames[-2:]]
    assert str(oldest + 1) in gap["reason"] and str(retained[0] - 1) in gap["reason"], gap["reason"]


# --- 3. a subscriber's token -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mena_subscriber(newsalert_server) -> str:
    """A subscriber with a ticker channel and one subscription, {"regions": ["MENA"]}: its token."""
    server = newsalert_server
    created = server.request("POST", "/v1/subscribers", key=server.admin_key,
                             json={"name": f"ticker-desk-{uuid.uuid4().hex[:8]}", "time_zone": "Asia/Beirut"})
    assert created.status_code == 201, describe(created)
    subscriber_id = created.json()["subscriber_id"]
    issued = server.request("POST", f"/v1/subscribers/{subscriber_id}/tokens", key=server.admin_key)
    assert issued.status_code == 201, describe(issued)
    token = issued.json()["token"]
    channel = server.request("POST", "/v1/channels", key=token, json={"kind": "ticker"})
    assert channel.status_code == 201, describe(channel)
    subscription = server.request("POST", "/v1/subscriptions", key=token, json={"rule": {"regions": ["MENA"]}})
    assert subscription.status_code == 201, describe(subscription)
    return token


def assert_only_matches_reach(server: NewsalertServer, mine: TickerClient, observer: TickerClient) -> None:
    """Posts a US line, then a MENA line; ``mine`` (a MENA subscriber's client) must get the MENA line only."""
    # Fan-out learns of a new subscription from a changelog topic: wait until a MENA line reaches the
    # subscriber's client (a probe posted while fan-out's catalog was behind is not delivered; retry).
    probe_ids: list[str] = []
    for attempt in range(4):
        probe_ids.append(post_line(server, line("Lebanese Foreign Ministry in Beirut")))
        observer.wait_for_event(probe_ids[-1])
        try:
            mine.wait_for(lambda frames: any(f.get("event", {}).get("id") in probe_ids for f in frames),
                          "a MENA probe line", timeout=10)
            break
        except pytest.fail.Exception:
            if attempt == 3:
                raise
    mine.frames.clear()

    us_id = post_line(server, line("White House in Washington"), section="Politics")
    us = observer.wait_for_event(us_id)
    assert "MENA" not in us["event"]["regions"] and "US & Canada" in us["event"]["regions"], us["event"]
    mena_id = post_line(server, line("Iranian Foreign Ministry in Tehran"), section="Politics")
    mena = observer.wait_for_event(mena_id)
    assert "MENA" in mena["event"]["regions"], mena["event"]
    assert mena["position"] > us["position"]

    got = mine.wait_for_event(mena_id)
    assert got == mena, "the subscriber's frame differs from the anonymous one"
    # The US line is earlier on the log: had it been admitted, it would have come before.
    assert [frame["event"]["id"] for frame in mine.items] == [mena_id], (
        f"the subscriber's client got {[(f['position'], f['event']['headline']) for f in mine.items]}")


def test_subscriber_token_gets_only_its_matches(newsalert_server, mena_subscriber, clients):
    mine = clients(newsalert_server, headers={"Authorization": f"Bearer {mena_subscriber}"}, backlog=0)
    assert_only_matches_reach(newsalert_server, mine, clients(newsalert_server, backlog=0))


def test_subscriber_token_in_the_query(newsalert_server, mena_subscriber, clients):
    """Browsers cannot set headers on a WebSocket: the route documents `?token=` for them."""
    mine = clients(newsalert_server, token=mena_subscriber, backlog=0)
    assert_only_matches_reach(newsalert_server, mine, clients(newsalert_server, backlog=0))


def test_unknown_tokens(newsalert_server, clients):
    """openapi.yaml: an unknown token in the Authorization header is ignored (the viewer is anonymous);
    an unknown `?token=` is refused (its exact status: test_refusals_have_the_documented_status_and_error)."""
    server = newsalert_server
    anonymous = clients(server, headers={"Authorization": "Bearer nst_not-a-token"}, backlog=0)
    event_id = post_line(server, line("Saudi Foreign Ministry in Riyadh"))
    anonymous.wait_for_event(event_id)
    frame, code = refused_on_the_socket(ticker_url(server, token="nst_not-a-token"))
    assert frame["code"] == "unauthenticated" and code == 4401, frame


def test_refusals_have_the_documented_status_and_error(newsalert_server):
    """openapi.yaml: a foreign Origin is refused before the upgrade (400); an unknown `?token=` gets an
    `unauthenticated` error frame and close code 4401; no upgrade at all is answered 426 websocket_required."""
    server = newsalert_server
    assert refused_status(ticker_url(server), origin="http://evil.example") == 400
    frame, code = refused_on_the_socket(ticker_url(server, token="nst_not-a-token"))
    assert (frame["type"], frame["status"], frame["code"], code) == ("error", 401, "unauthenticated", 4401), frame
    plain = server.request("GET", "/v1/ticker")
    assert plain.status_code == 426 and plain.json()["error"]["code"] == "websocket_required", plain.text


# --- 4. stories on the wire --------------------------------------------------------------------


def test_update_keeps_the_story_and_kill_is_a_retraction(newsalert_server, clients):
    server = newsalert_server
    client = clients(server, regions="MENA", backlog=0)
    first_id = post_line(server, MARWAHIN[0])
    first = client.wait_for_event(first_id)
    assert first["type"] == "alert" and first["story"]["story_id"] == f"story-{first_id}", first
    assert first["event"]["headline"] == MARWAHIN[0]

    update_id = post_line(server, MARWAHIN[1])
    update = client.wait_for_event(update_id)
    assert update["type"] == "update", update
    assert update["story"]["story_id"] == first["story"]["story_id"], update
    assert update["story"]["sequence"] == 2 and update["story"]["update_of"] == first_id, update
    assert update["event"]["headline"] == MARWAHIN[1] and update["position"] > first["position"]

    kill_id = kill(server, update_id, "the strike on Marwahin could not be confirmed")
    retraction = client.wait_for_event(kill_id)
    assert retraction["type"] == "retraction", retraction
    assert retraction["story"]["story_id"] == first["story"]["story_id"], retraction
    assert retraction["story"]["sequence"] == 3, retraction
    assert retraction["event"]["status"] == "canceled" and retraction["event"]["supersedes"] == update_id, retraction
    assert [f["type"] for f in client.items] == ["alert", "update", "retraction"], client.items


# --- 5. a client that stops reading --------------------------------------------------------------


class RawTickerSocket:
    """A WebSocket client on a bare TCP socket: does the opening handshake, then reads only when told.

    Its receive buffer and the segment size it announces are small, so that what the kernels absorb
    for it (its receive buffer and the server's send buffer, which Linux sizes from the peer's MSS) is
    small and fills up after a few frames; from then on frames queue in the server process.
    """

    def __init__(self, server: NewsalertServer, **query):
        host, port = urlsplit(server.base_url).hostname, urlsplit(server.base_url).port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        self.sock.settimeout(15)
        self.sock.connect((host, port))
        self.server_port = port
        self.local_port = self.sock.getsockname()[1]
        key = base64.b64encode(os.urandom(16)).decode()
        path = "/v1/ticker" + (f"?{urlencode(query)}" if query else "")
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, f"connection closed during the handshake: {head!r}"
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert any(l.lower() == f"sec-websocket-accept: {accept}".lower() for l in lines), lines
        self.buffer = b""

    def server_send_queue(self) -> int:
        """Bytes the server's socket for this connection holds unsent or unacknowledged (/proc/net/tcp tx_queue)."""
        local = f"0100007F:{self.server_port:04X}"
        remote = f"0100007F:{self.local_port:04X}"
        for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[0], 16)
        pytest.fail(f"no server socket {local} -> {remote} in /proc/net/tcp")

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_until_close(self) -> tuple[list[dict], int | None, str]:
        """Reads frames until a close frame: (text frames as JSON, close code, close reason)."""
        frames = []
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            assert not second & 0x80, "the server masked a frame"
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x1:
                frames.append(json.loads(payload))
            elif opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                return frames, code, payload[2:].decode("utf-8", "replace")

    def close(self) -> None:
        self.sock.close()


def big_line(index: int) -> dict:
    """A breaking item near the input limits (headline, summary, url): a ~3.4 kB frame."""
    words = " ".join(uuid.uuid4().hex[:6] for _ in range(8))
    return {"headline": f"Slow reader check {index}: {words}",
            "summary": (uuid.uuid4().hex + " ") * 30, "url": "https://news.example/" + uuid.uuid4().hex * 60}


def test_client_that_stops_reading_is_closed_with_1008(small_server, clients):
    """Deterministic by construction: items are posted in batches until the server's kernel send queue
    for the silent client stops growing (the kernels hold no more), then two more batches, more than the
    server process may hold for it (NIO's 64 KiB write buffer plus the 5-frame queue plus one frame in
    hand: about 27 frames of this size). Only then does the silent client start reading."""
    server = small_server
    slow = RawTickerSocket(server, backlog=0)
    fast = clients(server, backlog=0)
    posted: list[str] = []
    batch, cap = 25, 800

    def post_batch() -> None:
        bodies = [big_line(len(posted) + i) for i in range(batch)]
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda body: post_line(server, body.pop("headline"), **body), bodies))
        posted.extend(ids)
        fast.wait_for(lambda frames: {f["event"]["id"] for f in fast.items} >= set(posted),
                      f"all {len(posted)} items on the reading client", timeout=60)

    try:
        queued = []
        while len(posted) < cap:
            post_batch()
            queued.append(slow.server_send_queue())
            if len(queued) >= 2 and queued[-1] == queued[-2] and queued[-1] > 0:
                break
        else:
            pytest.fail(f"the server's send queue for the silent client kept growing: {queued} after {len(posted)} items")
        post_batch()
        post_batch()

        frames, code, reason = slow.read_until_close()
    finally:
        slow.close()
    items = [frame for frame in frames if frame.get("type") in ITEM_TYPES]
    fast_positions = [frame["position"] for frame in fast.items]
    assert code == 1008, f"close code {code} ({reason!r}) after {len(items)} of {len(posted)} items"
    assert reason.strip(), "the 1008 close has no reason"
    assert 0 < len(items) < len(posted), f"the silent client got {len(items)} of {len(posted)} items"
    # What it did get is the start of the log, in order, with nothing skipped.
    assert [frame["position"] for frame in items] == fast_positions[:len(items)]
    assert [frame["event"]["id"] for frame in items] == [frame["event"]["id"] for frame in fast.items[:len(items)]]
    # The reading client got every item.
    assert {frame["event"]["id"] for frame in fast.items} == set(posted)
    assert len(fast.items) == len(posted)


# --- 6. origins --------------------------------------------------------------------------------


def test_foreign_browser_origins_are_refused(newsalert_server, small_server, clients):
    def accepted(server: NewsalertServer, origin: str | None) -> bool:
        # The upgrade succeeded (101) and the connection is open.
        return clients(server, origin=origin, backlog=0).connection.protocol.state.name == "OPEN"

    for server in (newsalert_server, small_server):
        assert 400 <= refused_status(ticker_url(server, backlog=0), origin="http://evil.example") < 500
        assert accepted(server, origin_of(server))
    # --ticker-origins adds to the server's own origin; it does not apply to other servers.
    assert accepted(small_server, DESK_ORIGIN)
    assert 400 <= refused_status(ticker_url(newsalert_server, backlog=0), origin=DESK_ORIGIN) < 500
    # Without an Origin header (not a browser) the connection is accepted.
    assert accepted(newsalert_server, None)


# --- heartbeats --------------------------------------------------------------------------------


def test_heartbeats_carry_the_latest_position(small_server, clients):
    server = small_server
    observer = clients(server, backlog=0)
    event_id = post_line(server, line("Kuwaiti government in Kuwait City"))
    item = observer.wait_for_event(event_id)
    beat = observer.wait_for(lambda frames: next((f for f in frames if f.get("type") == "heartbeat"), None),
                             "a heartbeat", timeout=HEARTBEAT_INTERVAL + 15)
    latest = max(frame["position"] for frame in observer.items)
    assert beat["epoch"] == item["epoch"], beat
    assert beat["position"] >= latest, (beat, latest)


# --- a client that has gone --------------------------------------------------------------------


def test_ping_is_answered(newsalert_server):
    """RFC 6455 5.5.2: a Ping is answered with a Pong (clients use it to tell a live connection from a dead one)."""
    with connect(ticker_url(newsalert_server, backlog=0), open_timeout=15, close_timeout=2) as client:
        assert client.ping(b"are you there").wait(15), "no Pong within 15 s of a Ping"


def test_client_close_is_answered(newsalert_server):
    """RFC 6455 5.5.1: the server answers a client's Close frame with a Close frame (the client then
    sees its own code, 1000, not 1006 'closed abnormally')."""
    client = connect(ticker_url(newsalert_server, backlog=0), open_timeout=15, close_timeout=5, legacy=True)
    client.close()
    assert client.close_code == 1000, (
        f"the server did not answer the client's Close frame: close code {client.close_code}, "
        f"received {client.protocol.close_rcvd}, sent {client.protocol.close_sent}")


def test_serve_stops_cleanly_after_a_ticker_client_has_left(newsalert_bin, tmp_path):
    """A ticker connection that the client closed must not outlive it: `serve` then stops on SIGTERM
    like a server that never had a ticker client (exit status 0, no error)."""
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    server = start_serve(newsalert_bin, tmp_path / "serve", tmp_path / "data", free_port())
    try:
        event_id = post_line(server, line("Bahraini government in Manama"))
        with connect(ticker_url(server, backlog=0), open_timeout=15, close_timeout=5) as client:
            deadline = time.monotonic() + FRAME_TIMEOUT
            while json.loads(client.recv(timeout=max(0.1, deadline - time.monotonic())))["event"]["id"] != event_id:
                pass
        # The client is gone (closing handshake done); the server stops.
        server.process.popen.send_signal(signal.SIGTERM)
        try:
            status = server.process.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"newsalert serve did not stop within 60 s of SIGTERM\n{server.process.describe()}")
        assert status == 0 and "CancellationError" not in server.process.stderr(), (
            f"newsalert serve exited with {status} after SIGTERM once a ticker client had left\n{server.process.describe()}")
    finally:
        server.process.stop()


# --- 7. the BREAKING bar in Chromium -------------------------------------------------------------


def ticker_lines(driver) -> list[dict]:
    """The #ticker list, top to bottom, read in one go."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#ticker li'), li => ({story: li.dataset.story,"
        " headline: (li.querySelector('.headline') || {}).textContent, killed: li.classList.contains('killed')}))")


def status_text(driver) -> str:
    return driver.execute_script("return document.getElementById('ticker-status').textContent.trim()")


def wait_long(driver, condition, message: str, timeout: float):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {message}; status {status_text(driver)!r}, "
                    f"lines {ticker_lines(driver)[:5]}")


@pytest.fixture
def page_server(newsalert_bin: Path, tmp_path: Path) -> Iterator[dict]:
    """A server of the browser test's own, which it restarts: {'server', 'start'} (start() restarts it
    on the same port and data directory)."""
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    port, data_dir, workdir = free_port(), tmp_path / "data", tmp_path / "serve"
    state: dict = {}

    def start() -> NewsalertServer:
        previous = state.get("server")
        keys = (previous.editor_key, previous.admin_key) if previous else None
        state["server"] = start_serve(newsalert_bin, workdir, data_dir, port, keys=keys)
        return state["server"]

    state["start"] = start
    start()
    try:
        yield state
    finally:
        state["server"].process.stop()


def test_breaking_bar_shows_updates_kills_and_reconnects(page_server, browser):
    server, driver = page_server["server"], browser
    driver.get(server.url("/"))
    wait_for(driver, lambda d: status_text(d) == "live", "#ticker-status to say live")

    first_id = post_line(server, NAQOURA[0])
    story = f"story-{first_id}"
    wait_for(driver, lambda d: (ticker_lines(d) or [{}])[0].get("headline") == NAQOURA[0],
             f"{NAQOURA[0]!r} as the first #ticker line")
    top = ticker_lines(driver)[0]
    assert top["story"] == story and not top["killed"], top

    update_id = post_line(server, NAQOURA[1])
    wait_for(driver, lambda d: any(l["story"] == story and l["headline"] == NAQOURA[1] for l in ticker_lines(d)),
             "the story's line to show the update")
    lines = ticker_lines(driver)
    assert [l["story"] for l in lines].count(story) == 1, f"the story has several lines: {lines}"
    assert lines[0]["story"] == story, lines

    kill(server, update_id, "the shelling of Naqoura could not be confirmed")
    wait_for(driver, lambda d: any(l["story"] == story and l["killed"] for l in ticker_lines(d)),
             "the story's line to be struck out (class killed)")
    lines = ticker_lines(driver)
    assert [l["story"] for l in lines].count(story) == 1, lines
    struck = driver.execute_script(
        f"return getComputedStyle(document.querySelector('#ticker li[data-story=\"{story}\"] .headline')).textDecorationLine")
    assert "line-through" in struck, struck

    assert_nothing_external(driver, server.base_url)
    assert console_errors(driver) == []

    # The server restarts (a new embedded cluster, so a new log and epoch): the page notices, reconnects
    # by itself, reports the gap and shows what comes next.
    server.process.stop()
    wait_long(driver, lambda d: status_text(d) != "live", "the page to notice the server is gone", 30)
    server = page_server["start"]()
    wait_long(driver, lambda d: status_text(d) == "live", "the page to reconnect", 60)
    wait_long(driver, lambda d: d.execute_script(
        "const g = document.getElementById('ticker-gap'); return !g.hidden && g.textContent.trim()"),
        "the gap notice", 30)
    after_id = post_line(server, line("Lebanese army in Naqoura"))
    wait_for(driver, lambda d: (ticker_lines(d) or [{}])[0].get("story") == f"story-{after_id}",
             "a line posted after the restart on top")
    # Connection failures while the server was down are expected; nothing else may be logged.
    unexpected = [message for message in console_errors(driver)
                  if not re.search(r"WebSocket connection to 'ws://[^']+/v1/ticker[^']*' failed", message)]
    assert unexpected == []
    assert_nothing_external(driver, server.base_url)


# --- 8. Server-Sent Events ---------------------------------------------------------------------


def stream_url(server: NewsalertServer, **query) -> str:
    return server.url("/v1/ticker/stream") + (f"?{urlencode(query)}" if query else "")


class EventStreamClient:
    """One `GET /v1/ticker/stream` read by sseclient-py from a streamed `requests` response, on a thread of
    its own (so every wait here is bounded). Keeps every event and the raw bytes; checks each event's
    frame against `TickerFrame`, that an item's id is `<epoch>:<position>`, and that positions increase."""

    def __init__(self, server: NewsalertServer, headers: dict | None = None, **query):
        self.url = stream_url(server, **query)
        self.response = requests.get(self.url, headers={"Accept": "text/event-stream", **(headers or {})},
                                     stream=True, timeout=(15, None))
        assert self.response.status_code == 200, f"{self.url} -> {self.response.status_code}: {self.response.text[:500]}"
        self.raw = bytearray()
        self.events: list = []  # sseclient Events, each with .frame (the parsed data)
        self.ended = False
        self._incoming: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name="sse-reader", daemon=True).start()

    def _chunks(self) -> Iterator[bytes]:
        for chunk in self.response.iter_content(chunk_size=None):
            self.raw += chunk
            yield chunk

    def _read(self) -> None:
        try:
            for event in sseclient.SSEClient(self._chunks()).events():
                self._incoming.put(event)
        except Exception as error:  # the connection was closed under the reader (close()), or broke
            self._incoming.put(error)
        self._incoming.put(None)

    @property
    def items(self) -> list[dict]:
        return [event.frame for event in self.events if event.event == "item"]

    def _receive(self, timeout: float) -> None:
        try:
            event = self._incoming.get(timeout=timeout)
        except queue.Empty:
            return
        if event is None or isinstance(event, Exception):
            self.ended = True
            return
        frame = json.loads(event.data)
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in FRAME_VALIDATOR.iter_errors(frame)]
        assert errors == [], f"not a TickerFrame of openapi.yaml: {event.data[:600]}\n{errors}"
        if event.event == "item":
            check_item(frame)
            assert event.id == f"{frame['epoch']}:{frame['position']}", (event.id, frame["position"])
            assert not self.items or frame["position"] > self.items[-1]["position"], (
                f"position {frame['position']} after {self.items[-1]['position']} on {self.url}")
        else:
            assert event.event in ("gap", "error") and event.event == frame["type"], (event.event, frame)
        event.frame = frame
        self.events.append(event)

    def wait_for(self, predicate: Callable[[list], object], message: str, timeout: float = FRAME_TIMEOUT):
        """Reads until ``predicate(events)`` is truthy (returned); fails after ``timeout`` s or at the stream's end."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.events)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.ended:
                why = "the stream ended" if self.ended else f"timed out after {timeout:.0f} s"
                pytest.fail(f"{why} waiting for {message} on {self.url}; events so far:\n"
                            + "\n".join(f"{e.event} {e.id} {e.data[:300]}" for e in self.events[-20:]))
            self._receive(min(remaining, 1.0))

    def wait_for_event(self, event_id: str, timeout: float = FRAME_TIMEOUT):
        """The SSE event (``.id``, ``.event``, ``.data``, ``.frame``) of the item of ``event_id``."""
        return self.wait_for(lambda events: next((e for e in events if e.event == "item" and e.frame["event"]["id"] == event_id), None),
                             f"the item of {event_id}", timeout)

    def close(self) -> None:
        self.response.close()


@pytest.fixture
def streams() -> Iterator[Callable[..., EventStreamClient]]:
    """Factory: ``streams(server, headers=None, **query)``; all closed at teardown."""
    opened: list[EventStreamClient] = []

    def open_stream(server: NewsalertServer, headers: dict | None = None, **query) -> EventStreamClient:
        stream = EventStreamClient(server, headers=headers, **query)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def test_event_stream_carries_the_websocket_frames_as_items(newsalert_server, clients, streams):
    server = newsalert_server
    stream = streams(server, regions="MENA", backlog=0)
    assert stream.response.headers["Content-Type"] == "text/event-stream", stream.response.headers
    assert stream.response.headers["Cache-Control"] == "no-cache", stream.response.headers
    socket_ = clients(server, regions="MENA", backlog=0)
    everything = clients(server, backlog=0)

    event_id = post_line(server, line("Palestinian Health Ministry in Gaza"))
    event = stream.wait_for_event(event_id)
    assert event.event == "item" and event.id == f"{event.frame['epoch']}:{event.frame['position']}", event
    assert event.frame == socket_.wait_for_event(event_id), "the event stream's frame differs from the WebSocket's"
    assert bytes(stream.raw).startswith(b"retry: "), bytes(stream.raw[:100])
    # Filters apply as on the WebSocket: a line outside MENA is not sent (an item posted after it is the sentinel).
    other_id = post_line(server, line("Brazilian Foreign Ministry in Brasilia"), section="Politics")
    sentinel_id = post_line(server, line("Lebanese Health Ministry in Beirut"))
    other = everything.wait_for_event(other_id)
    stream.wait_for_event(sentinel_id)
    if "MENA" not in other["event"]["regions"]:
        assert other_id not in {frame["event"]["id"] for frame in stream.items}, stream.items


def test_event_stream_resumes_with_last_event_id(newsalert_server, clients, streams):
    server = newsalert_server
    observer = clients(server, backlog=0)
    first = streams(server, backlog=0)
    first_id = post_line(server, line("Egyptian Foreign Ministry in Cairo"))
    last_event_id = first.wait_for_event(first_id).id
    first.close()

    missed = [post_line(server, line("Tunisian government in Tunis")), post_line(server, line("Algerian army in Algiers"))]
    missed_frames = sorted((observer.wait_for_event(event_id) for event_id in missed), key=lambda f: f["position"])

    # As EventSource reconnects: the URL of its first connection, the last id in the header.
    resumed = streams(server, headers={"Last-Event-ID": last_event_id}, backlog=0)
    after_id = post_line(server, line("Moroccan government in Rabat"))
    resumed.wait_for_event(after_id)
    replay = [event for event in resumed.events if event.frame.get("event", {}).get("id") != after_id]
    assert [event.event for event in replay] == ["item"] * len(replay), f"a gap or error in a clean resume: {replay}"
    assert [event.frame for event in replay] == missed_frames, (
        f"resuming after {last_event_id} replayed {[e.id for e in replay]}, expected {[f['position'] for f in missed_frames]}")


def test_event_stream_with_another_epoch_starts_with_a_gap(newsalert_server, clients, streams):
    server = newsalert_server
    observer = clients(server, backlog=0)
    event_id = post_line(server, line("Libyan government in Tripoli"))
    latest = observer.wait_for_event(event_id)
    resumed = streams(server, headers={"Last-Event-ID": f"not-this-log:{latest['position']}"})
    resumed.wait_for_event(event_id)
    gap = resumed.events[0]
    assert gap.event == "gap" and gap.id == f"{latest['epoch']}:-1", (gap.event, gap.id)
    assert gap.frame["from"] == 0 and gap.frame["epoch"] == latest["epoch"], gap.frame


def test_event_stream_refuses_bad_input_with_a_json_error(newsalert_server):
    server = newsalert_server

    def refused(headers: dict | None = None, **query) -> tuple[int, dict]:
        response = requests.get(stream_url(server, **query), headers={"Accept": "text/event-stream", **(headers or {})},
                                timeout=(15, 30))
        assert response.headers["Content-Type"].startswith("application/json"), describe(response)
        return response.status_code, response.json()["error"]

    for malformed in ("42", "garbage", "epoch:", ":17", "epoch:x", "epoch:-9"):
        status, error = refused({"Last-Event-ID": malformed})
        assert (status, error["code"]) == (422, "invalid_fields"), (malformed, status, error)
        assert [problem["field"] for problem in error["fields"]] == ["Last-Event-ID"], error
    for query in ({"regions": "Atlantis"}, {"sections": "Gossip"}, {"kinds": "rumour"}, {"backlog": "501"}, {"since": "abc"}):
        status, error = refused(**query)
        assert (status, error["code"]) == (422, "invalid_fields"), (query, status, error)
        assert next(iter(query)) in [problem["field"] for problem in error["fields"]], (query, error)
    assert refused(token="nst_not-a-token")[0] == 401
    status, error = refused({"Origin": "http://evil.example"})
    assert (status, error["code"]) == (403, "origin_not_allowed"), error
    status, error = refused({"Accept": "application/json"})
    assert (status, error["code"]) == (406, "event_stream_required"), error


# Before any script of the page runs: every WebSocket the page opens asks for a path the server refuses
# to upgrade (404), as a proxy that does not pass WebSocket would answer. A real handshake that fails.
BLOCK_WEBSOCKET = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      const blocked = new URL(url);
      blocked.pathname = blocked.pathname.replace("/v1/ticker", "/v1/ticker-blocked");
      super(blocked.href, protocols);
    }
  };
})();
"""


def test_breaking_bar_falls_back_to_the_event_stream_when_websocket_is_blocked(newsalert_server, browser):
    """WebSocket handshakes fail in the browser (BLOCK_WEBSOCKET): the page uses EventSource on
    /v1/ticker/stream and shows what is posted."""
    server, driver = newsalert_server, browser
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": BLOCK_WEBSOCKET})
    driver.get(server.url("/"))
    wait_for(driver, lambda d: status_text(d) == "live", "#ticker-status to say live")
    transport = driver.execute_script("return document.getElementById('ticker-status').dataset.transport")
    assert transport == "eventsource", transport

    headline = line("Sudanese army in Khartoum")
    event_id = post_line(server, headline)
    wait_for(driver, lambda d: (ticker_lines(d) or [{}])[0].get("headline") == headline,
             f"{headline!r} as the first #ticker line")
    assert ticker_lines(driver)[0]["story"] == f"story-{event_id}"
    assert_nothing_external(driver, server.base_url)
    # The refused WebSocket is the only thing the console may complain about.
    unexpected = [message for message in console_errors(driver)
                  if not re.search(r"WebSocket connection to 'ws://[^']+/v1/ticker[^']*' failed", message)]
    assert unexpected == []
