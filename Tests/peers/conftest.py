"""Shared fixtures for the peer tests: tests that drive the `newsalert` binary against
foreign implementations (kcat, confluent-kafka, HTTP clients, mail and WebSocket peers).

What is here, for every test file in this folder:

* ``newsalert_bin``: path of the binary under test (env ``NEWSALERT_BIN``, else the debug build).
* ``run_process`` / ``run_newsalert``: run a command to completion, always with a timeout.
* ``spawn``: start a long-running process (a server, a broker) that is stopped at teardown.
* ``start_broker`` / ``broker``: an embedded Kafka cluster from ``newsalert broker``.
* ``unique_name``, ``free_tcp_port``, ``wait_until``: small helpers for isolated tests (``unique_tag`` and
  ``free_port`` as plain functions).
* ``describe``, ``schema_errors``, ``stored_record_count``: failure messages for HTTP responses, contract
  validation, records on a topic.
* ``own_newsalert_server``: a module's own ``newsalert serve`` (with extra options); ``call`` and
  ``post_event``: requests to it that must answer a given status; ``wait_for_received``: waits for what a peer
  (webhook receiver, mail relay) got from it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Generous defaults: each test should still finish well under a minute.
DEFAULT_RUN_TIMEOUT = 30.0
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0


def _tail(text: str, limit: int = 4000) -> str:
    """The end of a (possibly long) process log, for failure messages."""
    text = text or ""
    return text if len(text) <= limit else "...\n" + text[-limit:]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05,
               message: str = "condition") -> object:
    """Polls ``predicate`` until it returns something truthy, which is returned.

    Fails the test with ``message`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def run_command(command: Sequence[str | os.PathLike], *, input: str | bytes | None = None,
                timeout: float = DEFAULT_RUN_TIMEOUT, env: dict[str, str] | None = None,
                text: bool = True, check: bool = False) -> subprocess.CompletedProcess:
    """Runs ``command`` to completion and returns its CompletedProcess (output captured).

    A command that outlives ``timeout`` is killed and fails the test with what it had printed,
    so a hang shows up as a clear failure rather than a stuck test run. With ``check=True`` a
    non-zero exit status fails the test as well.
    """
    argv = [os.fspath(part) for part in command]
    try:
        result = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env,
                                encoding="utf-8" if text else None, errors="replace" if text else None)
    except subprocess.TimeoutExpired as expired:
        def decode(output: str | bytes | None) -> str:
            if isinstance(output, bytes):
                return output.decode("utf-8", "replace")
            return output or ""
        pytest.fail(f"{' '.join(argv)} did not finish within {timeout:.0f} s\n"
                    f"stdout:\n{_tail(decode(expired.stdout))}\nstderr:\n{_tail(decode(expired.stderr))}")
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited with {result.returncode}\n"
                    f"stdout:\n{_tail(str(result.stdout))}\nstderr:\n{_tail(str(result.stderr))}")
    return result


def newsalert_binary() -> Path:
    """Path of the newsalert binary under test (env ``NEWSALERT_BIN``, else the debug build); fails the test
    with what to do when it is not built."""
    path = Path(os.environ.get("NEWSALERT_BIN") or REPO_ROOT / ".build" / "debug" / "newsalert")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"newsalert binary not found at {path}: run `swift build` (or set NEWSALERT_BIN)")
    return path


@pytest.fixture(scope="session")
def newsalert_bin() -> Path:
    """Path of the newsalert binary under test."""
    return newsalert_binary()


_topic_layout: dict[str, dict] = {}


def topic_layout() -> dict[str, dict]:
    """Topic name → its layout (partitions, retention_ms, cleanup_policy, purpose), as the binary creates it
    (`newsalert topics ensure --dry-run`)."""
    if not _topic_layout:
        result = subprocess.run([str(newsalert_binary()), "topics", "ensure", "--dry-run"], capture_output=True, text=True,
                                timeout=DEFAULT_RUN_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(f"newsalert topics ensure --dry-run exited with {result.returncode}: {_tail(result.stderr)}")
        for line in result.stdout.splitlines():
            topic = json.loads(line)
            _topic_layout[topic["name"]] = topic
    return _topic_layout


@pytest.fixture(scope="session")
def run_process() -> Callable[..., subprocess.CompletedProcess]:
    """``run_process(argv, input=None, timeout=30, env=None, text=True, check=False)``."""
    return run_command


@pytest.fixture(scope="session")
def run_newsalert(newsalert_bin: Path) -> Callable[..., subprocess.CompletedProcess]:
    """``run_newsalert("topics", "list", ..., input=None, timeout=30, check=False)``."""
    def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return run_command([newsalert_bin, *args], **kwargs)
    return run


@dataclass
class BackgroundProcess:
    """A long-running child process whose stdout and stderr go to log files."""

    name: str
    argv: list[str]
    popen: subprocess.Popen
    stdout_path: Path
    stderr_path: Path
    _files: list = field(default_factory=list, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        """Exit status and output so far, for failure messages."""
        status = "running" if self.running() else f"exited with {self.popen.returncode}"
        return (f"{self.name} ({' '.join(self.argv)}) {status}\n"
                f"stdout:\n{_tail(self.stdout())}\nstderr:\n{_tail(self.stderr())}")

    def wait_for_file(self, path: Path, timeout: float = STARTUP_TIMEOUT) -> str:
        """Waits until the process has written a non-empty ``path``; returns its text.

        Fails at once, with the process' output, if the process exits before that.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists():
                content = path.read_text(encoding="utf-8").strip()
                if content:
                    return content
            if not self.running():
                pytest.fail(f"{self.name} exited before writing {path}\n{self.describe()}")
            time.sleep(0.05)
        pytest.fail(f"{self.name} did not write {path} within {timeout:.0f} s\n{self.describe()}")

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> int:
        """Sends SIGTERM, then SIGKILL if the process is still there after ``timeout`` s."""
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        for handle in self._files:
            handle.close()
        self._files.clear()
        return self.popen.returncode


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., BackgroundProcess]]:
    """Factory: ``spawn(argv, name=None, env=None)`` starts a background process.

    Its output is logged to files under the test's tmp_path; every process started this
    way is stopped (SIGTERM, then SIGKILL) when the test ends.
    """
    started: list[BackgroundProcess] = []
    counter = itertools.count()

    def start(argv: Sequence[str | os.PathLike], name: str | None = None,
              env: dict[str, str] | None = None) -> BackgroundProcess:
        argv = [os.fspath(part) for part in argv]
        name = name or Path(argv[0]).name
        stem = f"{name}-{next(counter)}"
        stdout_path, stderr_path = tmp_path / f"{stem}.stdout", tmp_path / f"{stem}.stderr"
        stdout, stderr = stdout_path.open("wb"), stderr_path.open("wb")
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
        process = BackgroundProcess(name, argv, popen, stdout_path, stderr_path, [stdout, stderr])
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()


@dataclass
class Broker:
    """A running ``newsalert broker``: an embedded Kafka cluster."""

    bootstrap_servers: str
    process: BackgroundProcess

    @property
    def addresses(self) -> list[str]:
        return self.bootstrap_servers.split(",")


@pytest.fixture
def start_broker(spawn, newsalert_bin: Path, tmp_path: Path) -> Callable[..., Broker]:
    """Factory: ``start_broker(topics=["alerts:3"], brokers=3)`` starts an embedded cluster.

    ``topics`` are NAME:PARTITIONS created at start (the embedded broker has no CreateTopics
    API; other topics are auto-created with 4 partitions). Returns once the cluster listens.
    """
    counter = itertools.count()

    def start(topics: Sequence[str] = (), brokers: int = 3) -> Broker:
        port_file = tmp_path / f"broker-{next(counter)}.servers"
        argv = [newsalert_bin, "broker", "--brokers", str(brokers), "--port-file", port_file]
        for topic in topics:
            argv += ["--topic", topic]
        process = spawn(argv, name="newsalert-broker")
        servers = process.wait_for_file(port_file)
        return Broker(bootstrap_servers=servers, process=process)

    return start


@pytest.fixture
def broker(start_broker) -> str:
    """Bootstrap servers of a fresh 3-broker embedded cluster that has topic ``interop`` (3 partitions)."""
    return start_broker(topics=["interop:3"]).bootstrap_servers


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """``unique_name("alerts")`` -> ``"alerts-1a2b3c4d"``: distinct topic, group or queue names."""
    return unique_tag


_PORT_CHOOSER = random.Random()   # its own generator: tests that seed `random` must not make ports repeat
_PORTS_HANDED_OUT: set[int] = set()


def _ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers under test).

    Chosen below the kernel's ephemeral range: a server under test opens Kafka connections (and its embedded
    broker listens) on ephemeral ports before it binds this one, and one of them must not take it first.
    """
    low, _ = _ephemeral_port_range()
    candidates = [port for port in range(max(1024, low - 12000), low) if port not in _PORTS_HANDED_OUT]
    _PORT_CHOOSER.shuffle(candidates)
    for port in candidates[:200]:
        _PORTS_HANDED_OUT.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unique_tag(label: str) -> str:
    """``unique_tag("alerts")`` -> ``"alerts-1a2b3c4d"``: a name no other test (or test run) uses."""
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers under test)."""
    return free_port()


@pytest.fixture(name="wait_until", scope="session")
def wait_until_fixture() -> Callable[..., object]:
    """``wait_until(predicate, timeout, interval=0.05, message="...")``."""
    return wait_until


# ---------------------------------------------------------------------------------------------
# The HTTP API and its contract (schemas/), for test_schemas.py, test_ingest_api.py,
# test_schemathesis.py and test_newsroom_console.py:
#
# * ``SCHEMAS_DIR`` / ``load_schema(name)``: the contract files (JSON or YAML).
# * ``seed_page``: the publication's front page (Tests/Fixtures/newsroom-front-page.txt) parsed into
#   its BREAKING ticker lines, news sections, regions and article kinds.
# * ``newsalert_server``: one ``newsalert serve`` for the whole session (embedded broker), with an
#   editor and an admin API key.
# ---------------------------------------------------------------------------------------------

import re  # noqa: E402

import yaml  # noqa: E402

SCHEMAS_DIR = REPO_ROOT / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SEED_PAGE_NAME = "newsroom-front-page.txt"
# `newsalert serve` starts the embedded cluster and creates every topic before it listens.
SERVE_STARTUP_TIMEOUT = 90.0
HTTP_TIMEOUT = 30.0


def load_schema(name: str) -> dict:
    """A contract file from schemas/: ``*.json`` parsed as JSON, ``*.yaml`` as YAML."""
    path = SCHEMAS_DIR / name
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def schema_errors(validator, instance) -> list[str]:
    """Every error a jsonschema validator finds in ``instance``, as ``pointer: message`` lines."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(instance)]


def error_code(response) -> str:
    """The `error.code` of a JSON error answer; "" when the body is not one."""
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


def describe(response, limit: int = 2000) -> str:
    """A ``requests`` response in one line (request, status, the start of the body), for failure messages."""
    return f"{response.request.method} {response.request.path_url} -> {response.status_code}: {response.text[:limit]}"


def stored_record_count(bootstrap: str, topic: str) -> int:
    """Records the cluster holds for ``topic``: the sum of high - low watermarks of its partitions."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = 0
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


@dataclass(frozen=True)
class SeedPage:
    """What the publication's front page shows: the vocabulary the contract's enums come from."""

    path: Path
    breaking: list[str]       # the BREAKING ticker, newest first (as the page lists it)
    sections: list[str]       # the "News" menu: Politics, Economy, ...
    article_kinds: list[str]  # the "Articles" menu: Opinion, Analysis, Blog, Features
    regions: list[str]        # the region menu: Africa, Asia, ...


def _seed_page_path() -> Path:
    """$NEWSALERT_SEEDS_DIR, else the copy of the publication's page kept in Tests/Fixtures."""
    candidates = [Path(os.environ["NEWSALERT_SEEDS_DIR"]) / SEED_PAGE_NAME] if os.environ.get("NEWSALERT_SEEDS_DIR") else []
    candidates += [REPO_ROOT / "Tests" / "Fixtures" / SEED_PAGE_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(f"the seed page {SEED_PAGE_NAME} was not found in any of: {', '.join(map(str, candidates))}")


def parse_front_page(text: str, path: Path) -> SeedPage:
    """Parses the text rendering of the front page (menus are lines of "  • Item")."""
    lines = [line.rstrip() for line in text.splitlines()]

    def bullet(line: str) -> str | None:
        stripped = line.strip()
        return stripped[1:].strip() if stripped.startswith("•") else None

    def menu(heading: str) -> list[str]:
        # The first unindented heading line, then its bullet items.
        start = lines.index(heading)
        items = []
        for line in lines[start + 1:]:
            item = bullet(line)
            if item is None:
                break
            items.append(item)
        return items

    breaking_at = lines.index("BREAKING")
    breaking = []
    for line in lines[breaking_at + 1:]:
        if not line.strip():
            break
        breaking.append(line.strip())
    # The region menu is the bullet block right above the ticker.
    regions: list[str] = []
    for line in reversed(lines[:breaking_at]):
        item = bullet(line)
        if item is None:
            break
        regions.insert(0, item)
    return SeedPage(path=path, breaking=breaking, sections=menu("News"), article_kinds=menu("Articles"), regions=regions)


@pytest.fixture(scope="session")
def seed_page() -> SeedPage:
    """The publication's front page, parsed (fails if the seed file is missing or changed shape)."""
    path = _seed_page_path()
    page = parse_front_page(path.read_text(encoding="utf-8"), path)
    assert page.breaking and page.sections and page.regions, f"could not parse {path}: {page}"
    return page


@dataclass
class NewsalertServer:
    """A running ``newsalert serve`` and the API keys made for it."""

    base_url: str            # http://127.0.0.1:PORT, as the server printed it
    bootstrap_servers: str   # its Kafka cluster, as printed on `bootstrap.servers=`
    data_dir: Path
    editor_key: str
    admin_key: str
    process: BackgroundProcess

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs):
        """One HTTP request (``requests``), authenticated with ``key`` when given, always with a timeout."""
        import requests

        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url(path), headers=headers, **kwargs)


def newsalert_serve_status(newsalert_bin: Path) -> tuple[bool, str]:
    """Whether this build has the ``serve`` command, and why not.

    ``newsalert serve --help`` must exit 0 and show serve's own usage: ArgumentParser answers
    ``--help`` after an unknown subcommand with the top-level help and status 0.
    """
    result = run_command([newsalert_bin, "serve", "--help"], timeout=DEFAULT_RUN_TIMEOUT)
    if result.returncode != 0:
        return False, f"`newsalert serve --help` exited with {result.returncode}: the serve command is not built yet"
    if "newsalert serve" not in result.stdout:
        return False, "`newsalert serve --help` shows no serve usage: the serve command is not built yet"
    return True, ""


def create_api_key(newsalert_bin: Path, data_dir: Path, role: str) -> str:
    """``newsalert keys create --role ROLE --data-dir DIR``: the key is alone on the last stdout line."""
    result = run_command([newsalert_bin, "keys", "create", "--role", role, "--data-dir", data_dir], check=True)
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"`newsalert keys create --role {role}` printed no key\nstderr:\n{_tail(result.stderr)}"
    return lines[-1]


def wait_for_serve(process: BackgroundProcess, timeout: float = SERVE_STARTUP_TIMEOUT) -> tuple[str, str]:
    """Waits for a starting ``newsalert serve`` to print ``bootstrap.servers=HOST:PORT,...`` and
    ``listening on http://...`` (in either order); returns (base URL, bootstrap servers).

    Fails with the server's output if it exits first or the lines do not come within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        output = process.stdout()
        listening = re.search(r"^listening on (http://\S+)", output, re.MULTILINE)
        bootstrap = re.search(r"^bootstrap\.servers=(\S+)", output, re.MULTILINE)
        if listening and bootstrap:
            return listening.group(1), bootstrap.group(1)
        if not process.running():
            pytest.fail(f"newsalert serve exited before listening\n{process.describe()}")
        if time.monotonic() > deadline:
            pytest.fail(f"newsalert serve did not print `bootstrap.servers=` and `listening on` within "
                        f"{timeout:.0f} s\n{process.describe()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def newsalert_server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    """One ``newsalert serve --port P --data-dir DIR`` for the session, with an editor and an admin key.

    Skips (with the reason) while the serve command is not built; otherwise waits, bounded, for
    the ``listening on`` line and fails with the server's output if it does not come.
    """
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("newsalert-serve")) as server:
        yield server


# The seed page's article as a client sends it to POST /v1/events, every optional field filled in.
SEED_ARTICLE = {
    "kind": "article",
    "headline": "US and S. Korea dismiss report of troop reduction, reaffirm alliance",
    "summary": "The backdrop to the speculation includes ongoing discussions over the cost of maintaining US troops in Asia.",
    "body": "South Korea's defense ministry on Friday firmly denied reports that the United States is planning "
            "to scale back its military presence in the country.\n\n\"There have been no discussions whatsoever\" "
            "with Washington regarding any troop withdrawal, the ministry stated.",
    "section": "Politics",
    "regions": ["Asia", "Asia-Pacific", "US & Canada"],
    "tags": ["United States", "DPRK", "South Korea"],
    "byline": "By Al Mayadeen English",
    "source": "Agencies",
    "url": "https://english.almayadeen.example/news/politics/us-and-s-korea-dismiss-report",
    "urgency": 4,
    "published_at": "2025-05-23T18:38:00+03:00",
    "language": "en",
}


# ---------------------------------------------------------------------------------------------
# A module's own `newsalert serve` (with options of its own, e.g. delivery options), requests to it, and
# for the delivery tests (test_webhook_delivery.py, test_email_delivery.py) a reader of
# `subscriptions.changelog` to know when the delivery node's subscription replica has a subscriber's
# channels and rules.
# ---------------------------------------------------------------------------------------------

from contextlib import contextmanager  # noqa: E402

CHANGELOG_TOPIC = "subscriptions.changelog"
KAFKA_WAIT_TIMEOUT = 30.0


@contextmanager
def own_newsalert_server(newsalert_bin: Path, workdir: Path, extra_args: Sequence[str] = (),
                         env: dict[str, str] | None = None, name: str = "newsalert-serve") -> Iterator[NewsalertServer]:
    """Starts ``newsalert serve --port P --data-dir WORKDIR/data EXTRA_ARGS`` (with ``env`` when given), waits
    for it to listen, makes an editor and an admin key, and stops the server on exit.

    Skips (with the reason) while the serve command is not built. Output goes to WORKDIR/serve.stdout|stderr.
    """
    available, reason = newsalert_serve_status(newsalert_bin)
    if not available:
        pytest.fail(reason)
    data_dir = workdir / "data"
    argv = [os.fspath(newsalert_bin), "serve", "--port", str(free_port()), "--data-dir", os.fspath(data_dir),
            *[os.fspath(arg) for arg in extra_args]]
    stdout_path, stderr_path = workdir / "serve.stdout", workdir / "serve.stderr"
    stdout, stderr = stdout_path.open("wb"), stderr_path.open("wb")
    popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
    process = BackgroundProcess(name, argv, popen, stdout_path, stderr_path, [stdout, stderr])
    try:
        base_url, bootstrap_servers = wait_for_serve(process)
        yield NewsalertServer(base_url=base_url, bootstrap_servers=bootstrap_servers, data_dir=data_dir,
                              editor_key=create_api_key(newsalert_bin, data_dir, "editor"),
                              admin_key=create_api_key(newsalert_bin, data_dir, "admin"), process=process)
    finally:
        process.stop()


def call(server: NewsalertServer, method: str, path: str, key: str, expected: int, **kwargs) -> dict:
    """One request with ``key``; fails with the response unless its status is ``expected``. Returns the JSON body ({} when empty)."""
    response = server.request(method, path, key=key, **kwargs)
    assert response.status_code == expected, describe(response)
    return response.json() if response.content else {}


def post_event(server: NewsalertServer, headline: str, tags: list[str] | None = None, **fields) -> str:
    """POST /v1/events of a breaking line (with ``tags`` and other ``fields`` when given) as the editor; returns its id."""
    body = {"kind": "breaking", "headline": headline, **fields}
    if tags:
        body["tags"] = tags
    return call(server, "POST", "/v1/events", server.editor_key, 202, json=body)["id"]


class TopicReader:
    """Reads every partition of a topic from the beginning (confluent-kafka, unique group, earliest)."""

    def __init__(self, bootstrap: str, topic: str):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.topic = topic
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"peer-test-{uuid.uuid4().hex[:8]}",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        metadata = self.consumer.list_topics(topic, timeout=10).topics[topic]
        assert metadata.partitions, f"topic {topic} has no partitions"
        self.consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in metadata.partitions])

    def wait_for(self, predicate: Callable[[list[tuple[bytes | None, bytes | None]]], object], timeout: float, message: str):
        """Reads on until ``predicate(records so far)`` is truthy, which is returned; fails after ``timeout``."""
        from confluent_kafka import KafkaException

        deadline = time.monotonic() + timeout
        while True:
            message_ = self.consumer.poll(0.1)
            if message_ is not None:
                if message_.error():
                    raise KafkaException(message_.error())
                self.records.append((message_.key(), message_.value()))
                continue
            result = predicate(self.records)
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {message} on {self.topic} "
                            f"({len(self.records)} records read)")

    def close(self) -> None:
        self.consumer.close()


def wait_for_received(received: Callable[[], list], predicate: Callable[[list], object], timeout: float, what: str,
                      server: NewsalertServer | None = None):
    """Polls until ``predicate(received())`` is truthy, which is returned. After ``timeout`` fails with ``what`` was
    awaited, everything received (each item's ``describe()``) and, when given, the server's output.

    For peers that record what the server sent them (a webhook receiver, a mail relay)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate(received())
        if result:
            return result
        if time.monotonic() > deadline:
            got = "\n".join(item.describe() for item in received()) or "(nothing)"
            context = f"\n{server.process.describe()}" if server else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; received:\n{got}{context}")
        time.sleep(0.05)


def wait_for_changelog(changelog: TopicReader, key: str, predicate: Callable[[dict], bool] = lambda value: True,
                       what: str = "", timeout: float = KAFKA_WAIT_TIMEOUT) -> None:
    """Waits until `subscriptions.changelog` carries the change of ``key`` (satisfying ``predicate``): the
    delivery node's subscription replica applies the changelog, so fan-out and delivery act on it from then on."""
    def found(records):
        return any(k == key.encode() and v is not None and predicate(json.loads(v)) for k, v in records)
    changelog.wait_for(found, timeout, f"the change of {key} {what}".strip())


# ---------------------------------------------------------------------------------------------
# Skips: every skipped test is printed with its reason at the end of the run, and the run fails when a skip
# is not listed in Tests/expected-skips.txt (scripts/check_skips.py reads that list for both test suites).
# ---------------------------------------------------------------------------------------------

import sys  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import check_skips  # noqa: E402


def _skipped_tests(terminalreporter) -> dict[str, str]:
    """Node id → reason of every test pytest skipped in this run."""
    skipped: dict[str, str] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = ""
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        skipped[report.nodeid] = reason
    return skipped


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = _skipped_tests(terminalreporter)
    terminalreporter.section("skipped tests")
    check_skips.report(skipped, out=_TerminalLines(terminalreporter))


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and check_skips.unexpected(_skipped_tests(reporter)) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


class _TerminalLines:
    """A file-like adapter so check_skips.report writes through pytest's terminal reporter."""

    def __init__(self, reporter):
        self.reporter = reporter

    def write(self, text: str) -> None:
        if text == "\n":
            return  # print() writes the line's end separately; write_line already ends each line
        for line in text.splitlines():
            self.reporter.write_line(line)
