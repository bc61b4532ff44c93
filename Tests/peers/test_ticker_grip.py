"""The live ticker behind a real GRIP proxy: Pushpin (Debian package `pushpin`), started here with a
configuration of its own (own ports, own run directory) in front of a `newsalert serve` started with
`--grip-key` (Pushpin's `sig_key`) and `--grip-publish` (Pushpin's publish port).

Pushpin holds the client connections: an event stream (`GET /v1/ticker/stream`) is answered by
newsalert with a hold instruction (`Grip-Hold: stream`) and what the client gets first, a WebSocket is
turned by Pushpin into WebSocket-over-HTTP requests (route option `over_http`, `POST /v1/ticker`), and
every later item reaches the clients because newsalert publishes it to Pushpin.

Clients: `sseclient-py` over a streamed `requests` response and the `websockets` client, through
Pushpin's port only; their frames are compared with a direct WebSocket client's.

Covered: items through the proxy on both transports, equal to the direct frames; the newsalert process
holds none of the proxied connections (its hub counts only the direct observer); resume with
`Last-Event-ID` through the proxy (exactly the missed items) and a foreign epoch (a gap first); bad
input through the proxy (a malformed `Last-Event-ID`: 422 JSON; an unknown filter value on the
WebSocket: close 4422 `invalid_fields`); GRIP requests that are not from the proxy (no `Grip-Sig`:
403; a forged or an expired one: 401 naming `Grip-Sig`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import NewsalertServer, describe, free_port, newsalert_serve_status, wait_until
from test_ticker import (  # noqa: F401  (clients and streams are fixtures)
    FRAME_TIMEOUT, clients, line, post_line, start_serve, streams, ticker_url,
)


@dataclasses.dataclass
class GripSetup:
    server: NewsalertServer      # newsalert itself (direct)
    proxied: NewsalertServer     # the same server, reached through Pushpin
    key: str


ZURL_CONF = """\
[General]
in_spec=ipc://{rundir}/z-in
in_stream_spec=ipc://{rundir}/z-in-stream
out_spec=ipc://{rundir}/z-out
defpolicy=allow
allow=
deny=
max_open_requests=2000
buffer_size=200000
timeout=600
"""

PUSHPIN_CONF = """\
[global]
include={{libdir}}/internal.conf
rundir={rundir}
ipc_prefix={prefix}-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,pushpin-proxy,pushpin-handler
http_port={http_port}
logdir={logdir}
log_level=2
client_buffer_size=8192
client_maxconn=50000

[proxy]
routesfile=routes
# Requests to the origin go through a zurl of this test's own: the one Pushpin's runner starts denies
# loopback origins.
zurl_out_specs=ipc://{rundir}/z-in
zurl_out_stream_specs=ipc://{rundir}/z-in-stream
zurl_in_specs=ipc://{rundir}/z-out
debug=false
auto_cross_origin=false
sig_iss=pushpin
sig_key={key}
updates_check=off

[handler]
push_in_spec=tcp://127.0.0.1:{push_in}
push_in_sub_specs=tcp://127.0.0.1:{push_sub}
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port={publish_port}
stats_spec=ipc://{{rundir}}/{{ipc_prefix}}stats
command_spec=tcp://127.0.0.1:{command}
message_rate=2500
message_hwm=25000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
"""


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def grip(newsalert_bin: Path, tmp_path_factory) -> Iterator[GripSetup]:
    pushpin = shutil.which("pushpin")
    if pushpin is None:
        pytest.fail("pushpin is not installed (scripts/bootstrap.sh test installs the Debian package)")
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    key = uuid.uuid4().hex
    workdir = tmp_path_factory.mktemp("ticker-grip")
    http_port, publish_port, push_in, push_sub, command = (free_port() for _ in range(5))
    server = start_serve(newsalert_bin, workdir, workdir / "data", free_port(),
                         "--grip-key", key, "--grip-publish", f"http://127.0.0.1:{publish_port}")
    # Pushpin's IPC sockets live in its run directory: keep the path short (a socket path has ~107 bytes).
    rundir = Path(tempfile.mkdtemp(prefix="pp-", dir="/tmp"))
    (rundir / "log").mkdir()
    port = server.base_url.rsplit(":", 1)[1]
    (rundir / "routes").write_text(f"* 127.0.0.1:{port},over_http\n")
    (rundir / "pushpin.conf").write_text(PUSHPIN_CONF.format(
        rundir=rundir, prefix=f"na{uuid.uuid4().hex[:6]}", http_port=http_port, logdir=rundir / "log", key=key,
        push_in=push_in, push_sub=push_sub, publish_port=publish_port, command=command))
    (rundir / "zurl.conf").write_text(ZURL_CONF.format(rundir=rundir))
    log = (workdir / "pushpin.out").open("wb")
    zurl = subprocess.Popen([shutil.which("zurl") or "zurl", f"--config={rundir / 'zurl.conf'}"], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process = subprocess.Popen([pushpin, "--config", os.fspath(rundir / "pushpin.conf")], stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: process.poll() is None and accepts(http_port) and accepts(publish_port), timeout=30,
                   message=f"pushpin listening on {http_port} and {publish_port}")
        # Listening is not ready: Pushpin answers 500 "Accept service unavailable" until its proxy, handler and our
        # zurl are connected. Ready is a request that went through all of them to newsalert and back.
        wait_until(lambda: proxied_health(http_port) == 200, timeout=30, interval=0.2,
                   message=f"a request through pushpin on {http_port} reaching newsalert")
        proxied = dataclasses.replace(server, base_url=f"http://127.0.0.1:{http_port}")
        yield GripSetup(server=server, proxied=proxied, key=key)
    finally:
        for child in (process, zurl):
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=15)
        log.close()
        server.process.stop()
        shutil.rmtree(rundir, ignore_errors=True)


def proxied_health(http_port: int) -> int | None:
    """The status of `/healthz` asked through the proxy, or None while it does not answer."""
    try:
        return requests.get(f"http://127.0.0.1:{http_port}/healthz", timeout=5).status_code
    except requests.RequestException:
        return None


def ticker_clients(server: NewsalertServer) -> int:
    """The newsalert process's connected ticker clients (`newsalert_ticker_clients`, recorded with each item)."""
    for text in requests.get(server.url("/metrics"), timeout=10).text.splitlines():
        if text.startswith("newsalert_ticker_clients"):
            return int(float(text.split()[-1]))
    pytest.fail("no newsalert_ticker_clients in /metrics")


def test_event_stream_and_websocket_through_pushpin(grip, clients, streams):
    server, proxied = grip.server, grip.proxied
    observer = clients(server, backlog=0)
    stream = streams(proxied, regions="MENA", backlog=0)
    assert stream.response.headers["Content-Type"].startswith("text/event-stream"), stream.response.headers
    assert "Grip-Hold" not in stream.response.headers, "Pushpin passed the hold instruction on to the client"
    socket_ = clients(proxied, regions="MENA", backlog=0)

    event_id = post_line(server, line("Lebanese Health Ministry in Beirut"))
    direct = observer.wait_for_event(event_id)
    assert stream.wait_for_event(event_id).frame == direct
    assert socket_.wait_for_event(event_id) == direct
    assert bytes(stream.raw).startswith(b"retry: "), bytes(stream.raw[:100])

    # Pushpin holds the proxied connections: the newsalert process has only the direct observer.
    sentinel = post_line(server, line("Syrian Foreign Ministry in Damascus"))
    observer.wait_for_event(sentinel)
    stream.wait_for_event(sentinel)
    socket_.wait_for_event(sentinel)
    assert ticker_clients(server) == 1


def test_resume_and_gap_through_pushpin(grip, clients, streams):
    server, proxied = grip.server, grip.proxied
    observer = clients(server, backlog=0)
    first = streams(proxied, backlog=0)
    first_id = post_line(server, line("Jordanian government in Amman"))
    last_event_id = first.wait_for_event(first_id).id
    first.close()

    missed = [post_line(server, line("Iraqi government in Baghdad")), post_line(server, line("Kuwaiti government in Kuwait City"))]
    missed_frames = sorted((observer.wait_for_event(event_id) for event_id in missed), key=lambda f: f["position"])
    resumed = streams(proxied, headers={"Last-Event-ID": last_event_id}, backlog=0)
    after_id = post_line(server, line("Omani government in Muscat"))
    resumed.wait_for_event(after_id)
    replay = [event.frame for event in resumed.events if event.frame.get("event", {}).get("id") != after_id]
    assert replay == missed_frames, f"resumed after {last_event_id} through the proxy: {replay}"

    foreign = streams(proxied, headers={"Last-Event-ID": "another-cluster:5"}, backlog=0)
    gap = foreign.wait_for(lambda events: events[:1], "the first event")[0]
    assert gap.event == "gap" and gap.frame["reason"], gap.data


def test_bad_input_through_pushpin(grip):
    proxied = grip.proxied
    response = requests.get(proxied.url("/v1/ticker/stream"), headers={"Accept": "text/event-stream", "Last-Event-ID": "no-position"},
                            timeout=15)
    assert response.status_code == 422, describe(response)
    assert response.json()["error"]["fields"][0]["field"] == "Last-Event-ID", response.text

    # The close code and reason say what was wrong (Pushpin 1.36 passes the close of the origin's answer, not the
    # error frame before it); any frame that does arrive first is that error frame.
    frames = []
    with connect(ticker_url(proxied, regions="Atlantis"), open_timeout=15, close_timeout=5) as socket_:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frames.append(json.loads(socket_.recv(timeout=FRAME_TIMEOUT)))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4422, closed.value
    assert closed.value.rcvd.reason == "invalid_fields", closed.value
    for frame in frames:
        assert frame["error"]["code"] == "invalid_fields" and frame["error"]["fields"][0]["field"] == "regions", frame


def grip_sig(key: str, expires: float) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    claims = b64(json.dumps({"iss": "pushpin", "exp": int(expires)}).encode())
    signature = hmac.new(key.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def test_grip_requests_not_from_the_proxy_are_refused(grip):
    server = grip.server
    events = {"Content-Type": "application/websocket-events"}
    response = server.request("POST", "/v1/ticker", headers=events, data=b"OPEN\r\n")
    assert response.status_code == 403 and response.json()["error"]["code"] == "grip_required", describe(response)
    for token in (grip_sig("not-the-key", time.time() + 60), grip_sig(grip.key, time.time() - 60), "not.a.jwt"):
        for method, path, headers in (("POST", "/v1/ticker", events), ("GET", "/v1/ticker/stream", {"Accept": "text/event-stream"})):
            response = server.request(method, path, headers={**headers, "Grip-Sig": token}, data=b"OPEN\r\n" if method == "POST" else None)
            assert response.status_code == 401, describe(response)
            error = response.json()["error"]
            assert error["code"] == "grip_signature_invalid" and error["fields"][0]["field"] == "Grip-Sig", error
    # Signed by the key: a hold instruction (what Pushpin gets), never a stream held by newsalert.
    response = server.request("GET", "/v1/ticker/stream?backlog=0", headers={"Accept": "text/event-stream", "Grip-Sig": grip_sig(grip.key, time.time() + 60)})
    assert response.status_code == 200 and response.headers["Grip-Hold"] == "stream", describe(response)
    assert response.headers["Grip-Channel"] == "ticker-all" and response.text.startswith("retry: "), describe(response)
