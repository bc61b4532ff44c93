"""Email delivery end to end, as a mail server and a mail reader see it.

`newsalert serve` delivers email alerts through an SMTP relay that is a real SMTP implementation:
aiosmtpd, running in this process, or Postfix's smtp-sink for the throughput smoke test. The aiosmtpd
relay records every message it is handed (raw bytes, envelope, whether the SMTP conversation used TLS and AUTH)
and answers per recipient from a script (451 then 250, or 550 at RCPT), so one server can exercise
several outcomes at once. Messages are read back with Python's `email` package, as a mail client would.

Covered:

1. content: a non-ASCII headline with markup arrives with the decoded Subject `[BREAKING] headline`, a
   text and an HTML part (the markup escaped), `Message-ID: <alert_id@domain-of-From>` and RFC 8058
   one-click unsubscribe headers; CR in a headline is refused by the API (422) and a bare LF, which the
   API takes, never becomes a header of its own;
2. a story: the first line, an update line (`[UPDATE]`) and the kill (`[WITHDRAWN]`);
3. the unsubscribe link from the mail, against the server: GET shows a page and changes nothing, the
   one-click POST disables the channel, a tampered token is 404, and later events send no email there;
   double opt-in: every address added with a subscriber token is confirmed by its owner through the
   confirmation mail before it gets alerts (an unconfirmed one gets none while a confirmed one does);
   tests about the relay itself (TLS refused, relay down, smtp-sink) import their addresses as confirmed;
4. AUTH over plain text to a loopback relay, and STARTTLS (verified against a private CA given with
   `--smtp-ca-file`) with AUTH; the password never shows in the server's output; an untrusted
   certificate is not accepted (it is retried, and does not count as the recipient's bounce towards
   disabling the channel);
5. failures: 451 retried then delivered, 550 failed (three of them disable the channel), relay down
   retried until dead and delivered after a replay once a relay listens;
6. 50 events through smtp-sink, all delivered.

Each test has its own subscriber, recipient addresses and a rule that matches only its own events (a
unique tag, or for the story test the word `Kawnin`). Every wait is bounded; the consumer groups'
first joins take a few seconds.
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import (
    CHANGELOG_TOPIC, NewsalertServer, TopicReader, call, describe, free_port, newsalert_serve_status,
    own_newsalert_server, post_event, run_command, unique_tag, wait_for_changelog, wait_for_received,
)

MAIL_FROM = "News Desk <desk@news.example>"
FROM_DOMAIN = "news.example"
PUBLIC_URL = "https://alerts.example"
# Four attempts in all, about three seconds (±20 % jitter) from first to last.
RETRY_DELAYS = "0,1,1,1"
MAX_ATTEMPTS = len(RETRY_DELAYS.split(","))
BOUNCE_LIMIT = 3
# From POST /v1/events to the relay: enrich, fan-out and delivery each read Kafka, and their consumer
# groups' first joins take a few seconds each.
DELIVERY_TIMEOUT = 60.0
SINK_EVENTS = 50
SINK_TIMEOUT = 180.0

# Two seed BREAKING lines of one story (see test_enrich_pipeline.py): the older line starts it.
KAWNIN_TARGETS = "Israeli drone targets a car in the town of Kawnin"
KAWNIN_MARTYRED = "One martyred in the Israeli drone strike on a car in the town of Kawnin"


# --- the relay ---------------------------------------------------------------------------------


@dataclass
class Mail:
    """One message handed to the relay (one DATA), with what the relay answered."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    reply: str
    tls: bool
    authenticated: bool
    login: str | None
    at: float = field(default_factory=time.time)

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def accepted(self) -> bool:
        return self.reply.startswith("250")

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()  # a long one is folded onto its own line (legal FWS)

    def describe(self) -> str:
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        return (f"to={self.rcpt_tos} answered {self.reply!r} tls={self.tls} auth={self.authenticated}"
                f" subject={self.subject!r}\n{head[:1500]}")


class MailRelay:
    """An aiosmtpd server on 127.0.0.1:PORT that records every message and answers per recipient.

    ``script(address, reply, ...)``: each DATA for ``address`` takes the next reply, the last repeats;
    unscripted recipients get 250. ``reject_at_rcpt(address, reply)`` answers RCPT TO with ``reply``.
    Options: ``auth`` (user, password) requires AUTH (over plain text unless ``tls_context``), and
    ``tls_context`` offers STARTTLS and requires it before anything else.
    """

    def __init__(self, port: int | None = None, *, auth: tuple[str, str] | None = None,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._scripts: dict[str, list[str]] = {}
        self._rcpt_rejects: dict[str, str] = {}
        self.auth_attempts: list[tuple[str, bool]] = []  # (login, succeeded)
        relay = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                with relay._lock:
                    rejection = relay._rcpt_rejects.get(address.lower())
                if rejection:
                    return rejection
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(rcpt_options)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                reply = relay._next_reply(envelope.rcpt_tos)
                transport_tls = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
                mail = Mail(
                    mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), raw=envelope.original_content or b"",
                    reply=reply, tls=session.ssl is not None or transport_tls, authenticated=bool(session.authenticated),
                    login=session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None)
                with relay._lock:
                    relay._mails.append(mail)
                return reply

        def authenticator(server, session, envelope, mechanism, auth_data):
            if not isinstance(auth_data, LoginPassword) or auth is None:
                return AuthResult(success=False, handled=False)
            login, password = auth_data.login.decode(), auth_data.password.decode()
            ok = (login, password) == auth
            with relay._lock:
                relay.auth_attempts.append((login, ok))
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        keywords: dict = {"server_hostname": "relay.newsalert.test", "ready_timeout": 10.0}
        if auth is not None:
            keywords.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls_context is not None)
        if tls_context is not None:
            keywords.update(tls_context=tls_context, require_starttls=True)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **keywords)

    def start(self) -> "MailRelay":
        self.controller.start()
        return self

    def stop(self) -> None:
        try:
            self.controller.stop()
        except AssertionError:
            pass  # never started

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, address: str, *replies: str) -> None:
        with self._lock:
            self._scripts[address.lower()] = list(replies)

    def reject_at_rcpt(self, address: str, reply: str) -> None:
        with self._lock:
            self._rcpt_rejects[address.lower()] = reply

    def _next_reply(self, rcpt_tos: list[str]) -> str:
        with self._lock:
            for address in rcpt_tos:
                script = self._scripts.get(address.lower())
                if script:
                    return script.pop(0) if len(script) > 1 else script[0]
        return "250 2.0.0 Ok: queued"

    def forget(self, mail: Mail) -> None:
        """Leaves a message out of the record from now on (a confirmation mail the test has read)."""
        with self._lock:
            self._mails.remove(mail)

    def mails(self, address: str | None = None) -> list[Mail]:
        with self._lock:
            return [mail for mail in self._mails
                    if address is None or address.lower() in (rcpt.lower() for rcpt in mail.rcpt_tos)]

    def wait_for(self, address: str, predicate: Callable[[list[Mail]], object], message: str,
                 server: NewsalertServer | None = None, timeout: float = DELIVERY_TIMEOUT):
        """Polls until ``predicate(mails to address)`` is truthy, which is returned; fails after ``timeout``."""
        return wait_for_received(lambda: self.mails(address), predicate, timeout, f"{message} to {address}", server)


def with_subject_prefix(prefix: str, accepted_only: bool = True) -> Callable[[list[Mail]], list[Mail]]:
    return lambda mails: [m for m in mails if m.subject.startswith(prefix) and (m.accepted or not accepted_only)]


def tls_authority(tmp_path: Path):
    """A trustme CA (its certificate written to ca.pem) and a server context for 127.0.0.1 and localhost."""
    import trustme

    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(os.fspath(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return ca_file, context


# --- the API -----------------------------------------------------------------------------------


@dataclass
class Subscriber:
    id: str
    token: str
    channels: dict[str, dict] = field(default_factory=dict)  # address -> POST /v1/channels answer

    def channel_id(self, address: str) -> str:
        return self.channels[address]["id"]


CONFIRM_SUBJECT = "Confirm your breaking-news alerts"
IMPORTED_CONSENT = {"confirmed_at": "2025-01-15T09:00:00Z", "source": "desk list imported by the newsroom"}


def confirmation_link(server: NewsalertServer, mail: Mail) -> str:
    """The confirmation link of a confirmation mail (on the server's public URL), pointed at ``server`` itself."""
    text, html = parts(mail)
    links = re.findall(r"https?://\S+/v1/confirm\?\S+", text)
    assert len(links) == 1, text
    assert html.count('href="') == 1 and links[0].replace("&", "&amp;") in html, html
    link = urllib.parse.urlsplit(links[0])
    return server.base_url.rstrip("/") + link.path + "?" + link.query


def confirm_address(server: NewsalertServer, relay: MailRelay, address: str) -> str:
    """What the owner of ``address`` does: reads the one confirmation mail, opens its link (a page with a button that
    confirms nothing by itself) and presses Confirm. The confirmation mail is then left out of the relay's record, so
    the test counts alerts only. Returns the link."""
    mails = relay.wait_for(address, with_subject_prefix(CONFIRM_SUBJECT), "the confirmation mail", server)
    assert len(mails) == 1, [m.describe() for m in mails]
    link = confirmation_link(server, mails[0])
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and 'method="post"' in page.text and address in page.text, describe(page)
    confirmed = requests.post(link, timeout=30)
    assert confirmed.status_code == 200 and 'id="confirmed"' in confirmed.text, describe(confirmed)
    relay.forget(mails[0])
    return link


def new_subscriber(server: NewsalertServer, relay: MailRelay | None, changelog: TopicReader, name: str, rule: dict,
                   addresses: list[str]) -> Subscriber:
    """Admin creates a subscriber and a token; with the token: an email channel per address, each confirmed by its
    owner through the confirmation mail ``relay`` receives, then a subscription. Without a relay that can carry the
    confirmation (relay down, TLS refused, a sink), the admin imports the addresses as already confirmed instead.
    Returns once the changelog carries all of it (the delivery node's replica has it)."""
    subscriber_id = call(server, "POST", "/v1/subscribers", server.admin_key, 201,
                         json={"name": f"{name} desk", "time_zone": "UTC"})["subscriber_id"]
    token = call(server, "POST", f"/v1/subscribers/{subscriber_id}/tokens", server.admin_key, 201)["token"]
    subscriber = Subscriber(subscriber_id, token)
    for address in addresses:
        if relay is None:
            channel = call(server, "POST", f"/v1/subscribers/{subscriber_id}/channels", server.admin_key, 201,
                           json={"kind": "email", "address": address, "consent": IMPORTED_CONSENT})
            assert channel["confirmation"] == "confirmed", channel
        else:
            channel = call(server, "POST", "/v1/channels", token, 201, json={"kind": "email", "address": address})
            assert channel["confirmation"] == "pending", channel
            confirm_address(server, relay, address)
        assert channel["id"].startswith("chn_") and channel["kind"] == "email", channel
        subscriber.channels[address] = channel
    subscription = call(server, "POST", "/v1/subscriptions", token, 201, json={"name": name, "rule": rule})
    for key in [subscriber_id, *(channel["id"] for channel in subscriber.channels.values()), subscription["subscription_id"]]:
        wait_for_changelog(changelog, key)
    return subscriber


def deliveries(server: NewsalertServer, subscriber: Subscriber) -> list[dict]:
    return call(server, "GET", f"/v1/deliveries?subscriber={subscriber.id}&limit=1000", server.admin_key, 200)["deliveries"]


def wait_for_deliveries(server: NewsalertServer, subscriber: Subscriber, predicate: Callable[[list[dict]], object],
                        message: str, timeout: float = DELIVERY_TIMEOUT):
    """Polls the subscriber's delivery log until ``predicate(deliveries)`` is truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        last = deliveries(server, subscriber)
        result = predicate(last)
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message}; GET /v1/deliveries?subscriber="
                        f"{subscriber.id}: {str(last)[:3000]}\n{server.process.describe()}")
        time.sleep(0.2)


def delivery_of(event_id: str, channel_id: str, states: set[str]) -> Callable[[list[dict]], dict | None]:
    """Predicate: the delivery of ``event_id`` to ``channel_id`` once it is in one of ``states``."""
    return lambda found: next((d for d in found if d["alert"]["event"]["id"] == event_id
                               and d["alert"]["channel_id"] == channel_id and d["state"] in states), None)


def channels(server: NewsalertServer, subscriber: Subscriber) -> dict[str, dict]:
    return {c["id"]: c for c in call(server, "GET", "/v1/channels", subscriber.token, 200)["channels"]}


def unique_address(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}@example.com"


def tagged_subscriber(server: NewsalertServer, label: str, relay: MailRelay | None) -> tuple[Subscriber, str, str]:
    """On a test's own server (no module changelog reader): a subscriber with one email address of its own (confirmed
    through ``relay``, or imported as confirmed without one) and a rule for a tag of its own. Returns the subscriber,
    the address and the tag."""
    reader = TopicReader(server.bootstrap_servers, CHANGELOG_TOPIC)
    try:
        address, tag = unique_address(label), unique_tag(label)
        return new_subscriber(server, relay, reader, label, {"tags": [tag]}, [address]), address, tag
    finally:
        reader.close()


def parts(mail: Mail) -> tuple[str, str]:
    """The text/plain and text/html parts of a multipart/alternative message."""
    message = mail.message
    assert message.get_content_type() == "multipart/alternative", mail.describe()
    assert not message.defects, f"{message.defects}: {mail.describe()}"
    leaves = [part for part in message.walk() if not part.is_multipart()]
    assert sorted(part.get_content_type() for part in leaves) == ["text/html", "text/plain"], mail.describe()
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return text.get_content(), html.get_content()


def unsubscribe_url(mail: Mail) -> str:
    value = str(mail.message["List-Unsubscribe"])
    match = re.fullmatch(r"\s*<([^>]+)>\s*", value)
    assert match, f"List-Unsubscribe is not one <URL>: {value!r}"
    return match.group(1)


# --- the main server ---------------------------------------------------------------------------


def serve_args(relay: str, tls: str = "none") -> list[str]:
    return ["--smtp-relay", relay, "--smtp-tls", tls, "--mail-from", MAIL_FROM, "--public-url", PUBLIC_URL,
            "--retry-delays", RETRY_DELAYS]


@pytest.fixture(scope="module")
def relay() -> Iterator[MailRelay]:
    relay = MailRelay().start()
    yield relay
    relay.stop()


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory, relay: MailRelay) -> Iterator[NewsalertServer]:
    """A fresh `newsalert serve` whose SMTP relay is ``relay`` (plain text), retrying fast."""
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("email-delivery"), serve_args(relay.address)) as server_:
        yield server_


@pytest.fixture(scope="module")
def changelog(server: NewsalertServer) -> Iterator[TopicReader]:
    reader = TopicReader(server.bootstrap_servers, CHANGELOG_TOPIC)
    yield reader
    reader.close()


# --- 1. content --------------------------------------------------------------------------------


def test_alert_email_content_and_headers(server, relay, changelog):
    address, tag = unique_address("content"), unique_tag("content")
    subscriber = new_subscriber(server, relay, changelog, "content", {"tags": [tag]}, [address])
    headline = "Überschwemmung in Köln: Rhein-Pegel über 9 m <script>alert('x')</script> — évacuation à Zürich"
    summary = "Die Stadt öffnet Notunterkünfte & sperrt die Uferstraßen."
    event_id = post_event(server, headline, [tag], summary=summary, url="https://news.example/koeln?a=1&b=2")

    mail = relay.wait_for(address, lambda mails: mails, f"the alert about {event_id}", server)[0]
    delivery = wait_for_deliveries(server, subscriber, delivery_of(event_id, subscriber.channel_id(address), {"delivered"}),
                                   f"the delivery of {event_id}")
    assert len(relay.mails(address)) == 1, [m.describe() for m in relay.mails(address)]
    assert [(a["outcome"], a.get("status_code")) for a in delivery["attempts"]] == [("delivered", 250)], delivery["attempts"]
    alert_id = delivery["id"]
    assert alert_id == delivery["alert"]["alert_id"], delivery

    message = mail.message
    raw_head = mail.raw.split(b"\r\n\r\n", 1)[0]
    # Headers travel as ASCII (RFC 2047 for the Subject), and the reader decodes them back.
    assert all(byte < 0x80 for byte in raw_head), raw_head
    assert mail.subject == f"[BREAKING] {headline}", mail.describe()
    assert len(message.get_all("Subject")) == 1, mail.describe()
    assert message["From"].addresses[0].addr_spec == "desk@news.example", message["From"]
    assert message["From"].addresses[0].display_name == "News Desk", message["From"]
    assert [a.addr_spec for a in message["To"].addresses] == [address], message["To"]
    assert mail.rcpt_tos == [address] and mail.mail_from == "desk@news.example", (mail.rcpt_tos, mail.mail_from)
    assert mail.message_id == f"<{alert_id}@{FROM_DOMAIN}>", mail.describe()
    assert message["Date"] is not None and message["MIME-Version"] == "1.0", mail.describe()

    text, html = parts(mail)
    assert headline in text and summary in text, text
    assert "<script>" not in html and "<script" not in html.lower(), html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html, html
    assert "Überschwemmung in Köln" in html and "Notunterkünfte &amp; sperrt" in html, html

    link = unsubscribe_url(mail)
    parsed = urllib.parse.urlsplit(link)
    query = urllib.parse.parse_qs(parsed.query)
    assert f"{parsed.scheme}://{parsed.netloc}" == PUBLIC_URL and parsed.path == "/v1/unsubscribe", link
    assert query.get("channel") == [subscriber.channel_id(address)] and query.get("token") and query["token"][0], link
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click", mail.describe()
    assert link in text, text


def test_header_injection_is_refused_or_neutralised(server, relay, changelog):
    # First line of defence: the API refuses a CR in a headline.
    for headline in ["Markets close\r\nBcc: victim@example.org", "Markets close\rBcc: victim@example.org"]:
        response = server.request("POST", "/v1/events", key=server.editor_key, json={"kind": "breaking", "headline": headline})
        assert response.status_code == 422, describe(response)
        problems = response.json()["error"].get("fields", [])
        assert any(problem.get("field") == "headline" for problem in problems), describe(response)

    # A bare LF is taken by the API (the contract allows it); the mail must still carry it inside the Subject,
    # never as a header line of its own.
    address, tag = unique_address("inject"), unique_tag("inject")
    new_subscriber(server, relay, changelog, "inject", {"tags": [tag]}, [address])
    headline = "Markets close lower\nBcc: victim@example.org"
    response = server.request("POST", "/v1/events", key=server.editor_key,
                              json={"kind": "breaking", "headline": headline, "tags": [tag]})
    if response.status_code == 422:
        return  # refused outright: nothing can reach a mail
    assert response.status_code == 202, describe(response)
    mail = relay.wait_for(address, lambda mails: mails, "the alert with an LF in its headline", server)[0]
    message = mail.message
    assert message["Bcc"] is None, mail.describe()
    assert not re.search(rb"(?im)^bcc:", mail.raw.split(b"\r\n\r\n", 1)[0]), mail.describe()
    assert mail.rcpt_tos == [address], mail.rcpt_tos
    assert mail.subject == "[BREAKING] Markets close lower Bcc: victim@example.org", mail.describe()
    assert not message.defects, message.defects


# --- 2. a story --------------------------------------------------------------------------------


def test_story_update_and_withdrawal(server, relay, changelog, seed_page):
    address = unique_address("story")
    subscriber = new_subscriber(server, relay, changelog, "story", {"keywords": "Kawnin"}, [address])
    lines = {marker: next(line for line in seed_page.breaking if marker in line) for marker in (KAWNIN_TARGETS, KAWNIN_MARTYRED)}

    first_id = post_event(server, lines[KAWNIN_TARGETS])
    first = relay.wait_for(address, lambda mails: mails, f"the first line {first_id}", server)[0]
    first_delivery = wait_for_deliveries(server, subscriber, delivery_of(first_id, subscriber.channel_id(address), {"delivered"}),
                                         f"the delivery of {first_id}")
    label = "FLASH" if first_delivery["alert"]["event"].get("urgency") == 1 else "BREAKING"
    assert first.subject == f"[{label}] {lines[KAWNIN_TARGETS]}", first.describe()
    assert first.message_id == f"<{first_delivery['id']}@{FROM_DOMAIN}>", first.describe()

    update_id = post_event(server, lines[KAWNIN_MARTYRED])
    update = relay.wait_for(address, with_subject_prefix("[UPDATE]"), f"the update {update_id}", server)
    assert len(update) == 1, [m.describe() for m in update]
    assert update[0].subject == f"[UPDATE] {lines[KAWNIN_MARTYRED]}", update[0].describe()
    update_delivery = wait_for_deliveries(server, subscriber, delivery_of(update_id, subscriber.channel_id(address), {"delivered"}),
                                          f"the delivery of {update_id}")
    assert update_delivery["alert"]["type"] == "update", update_delivery["alert"]
    assert update[0].message_id == f"<{update_delivery['id']}@{FROM_DOMAIN}>", update[0].describe()
    assert lines[KAWNIN_MARTYRED] in parts(update[0])[0]

    kill_id = call(server, "POST", f"/v1/events/{first_id}/kill", server.editor_key, 202,
                   json={"reason": "the strike on Kawnin could not be confirmed"})["id"]
    withdrawn = relay.wait_for(address, with_subject_prefix("[WITHDRAWN]"), f"the withdrawal {kill_id}", server)
    assert len(withdrawn) == 1, [m.describe() for m in withdrawn]
    assert withdrawn[0].subject == f"[WITHDRAWN] {lines[KAWNIN_TARGETS]}", withdrawn[0].describe()
    text, html = parts(withdrawn[0])
    assert "withdrew" in text and lines[KAWNIN_TARGETS] in text, text
    kill_delivery = wait_for_deliveries(server, subscriber, delivery_of(kill_id, subscriber.channel_id(address), {"delivered"}),
                                        f"the delivery of {kill_id}")
    assert kill_delivery["alert"]["type"] == "retraction", kill_delivery["alert"]

    subjects = [m.subject.split(" ", 1)[0] for m in relay.mails(address)]
    assert subjects == [f"[{label}]", "[UPDATE]", "[WITHDRAWN]"], [m.describe() for m in relay.mails(address)]
    assert len({m.message_id for m in relay.mails(address)}) == 3


# --- 3. unsubscribe ----------------------------------------------------------------------------


def test_one_click_unsubscribe_from_the_mail(server, relay, changelog):
    leaving, staying, tag = unique_address("leaving"), unique_address("staying"), unique_tag("unsub")
    subscriber = new_subscriber(server, relay, changelog, "unsubscribe", {"tags": [tag]}, [leaving, staying])
    channel_id = subscriber.channel_id(leaving)
    first_id = post_event(server, "Lebanese Ministry of Health: Two injured in a strike on the outskirts of Aitaroun", [tag])
    mail = relay.wait_for(leaving, lambda mails: mails, f"the alert about {first_id}", server)[0]
    relay.wait_for(staying, lambda mails: mails, f"the alert about {first_id}", server)

    link = unsubscribe_url(mail)
    assert link.startswith(PUBLIC_URL + "/"), link
    local = server.base_url.rstrip("/") + link[len(PUBLIC_URL):]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(local).query)
    assert query["channel"] == [channel_id], local

    # GET (what a link scanner does) shows a confirmation page and changes nothing.
    page = requests.get(local, timeout=30, allow_redirects=False)
    assert page.status_code == 200, describe(page)
    assert page.headers.get("content-type", "").startswith("text/html"), page.headers
    assert leaving in page.text and "<form" in page.text and 'method="post"' in page.text, page.text
    assert channels(server, subscriber)[channel_id]["status"] == "active", channels(server, subscriber)[channel_id]

    # A tampered token (and a missing one) is 404, for GET and POST, and changes nothing.
    token = query["token"][0]
    tampered_token = ("A" if token[0] != "A" else "B") + token[1:]
    tampered = local.replace(f"token={urllib.parse.quote(token, safe='')}", f"token={tampered_token}").replace(
        f"token={token}", f"token={tampered_token}")
    assert tampered != local, (local, tampered)
    assert requests.get(tampered, timeout=30).status_code == 404
    forged = requests.post(tampered, data="List-Unsubscribe=One-Click", timeout=30,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert forged.status_code == 404, describe(forged)
    no_token = f"{server.base_url.rstrip('/')}/v1/unsubscribe?channel={channel_id}"
    assert requests.post(no_token, data="List-Unsubscribe=One-Click", timeout=30).status_code == 404
    assert channels(server, subscriber)[channel_id]["status"] == "active"

    # RFC 8058 one-click: POST to the same URL with that body.
    response = requests.post(local, data="List-Unsubscribe=One-Click", timeout=30, allow_redirects=False,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, describe(response)
    after = channels(server, subscriber)
    assert after[channel_id]["status"] == "disabled", after[channel_id]
    assert after[channel_id]["disabled_reason"] == "unsubscribed by the recipient", after[channel_id]
    assert after[subscriber.channel_id(staying)]["status"] == "active", after
    wait_for_changelog(changelog, channel_id, lambda value: value.get("status") == "disabled", "to disabled")

    # A later event (another story, so nothing holds it back) reaches the other channel, so fan-out has decided
    # about it; nothing reaches this one.
    later_id = post_event(server, "Jordanian Civil Defense: Wildfire contained near the Ajloun forest reserve", [tag])
    relay.wait_for(staying, lambda mails: len(mails) >= 2, f"the alert about {later_id}", server)
    wait_for_deliveries(server, subscriber, delivery_of(later_id, subscriber.channel_id(staying), {"delivered"}),
                        f"the delivery of {later_id}")
    assert relay.mails(leaving) == [mail], [m.describe() for m in relay.mails(leaving)]
    later = [d for d in deliveries(server, subscriber) if d["alert"]["event"]["id"] == later_id]
    assert all(d["alert"]["channel_id"] != channel_id or d["state"] == "failed" for d in later), later


# --- 3b. double opt-in -------------------------------------------------------------------------


def test_an_unconfirmed_address_gets_nothing_until_its_owner_confirms(server, relay, changelog):
    """An address added with a subscriber token gets a confirmation mail and no alert; the same subscriber's
    confirmed address getting the alert is the sign that the event was processed. Once the owner presses Confirm
    on the link's page, the next event reaches the address too. Bad links confirm nothing."""
    waiting, witness, tag = unique_address("waiting"), unique_address("witness"), unique_tag("optin")
    subscriber = new_subscriber(server, relay, changelog, "opt-in", {"tags": [tag]}, [witness])
    pending = call(server, "POST", "/v1/channels", subscriber.token, 201, json={"kind": "email", "address": waiting})
    assert pending["confirmation"] == "pending" and pending["consent"] is None, pending
    wait_for_changelog(changelog, pending["id"])
    invitation = relay.wait_for(waiting, with_subject_prefix(CONFIRM_SUBJECT), "the confirmation mail", server)
    assert len(invitation) == 1 and invitation[0].message["From"] == MAIL_FROM, [m.describe() for m in invitation]
    assert PUBLIC_URL + "/v1/confirm?channel=" + pending["id"] in parts(invitation[0])[0], "the link is on the public URL"

    first_id = post_event(server, "Lebanese Civil Defense: Fire brigades reach the scene of a strike in Nabatieh", [tag])
    relay.wait_for(witness, lambda mails: mails, f"the alert about {first_id}", server)
    wait_for_deliveries(server, subscriber, delivery_of(first_id, subscriber.channel_id(witness), {"delivered"}), f"the delivery of {first_id}")
    assert relay.mails(waiting) == invitation, [m.describe() for m in relay.mails(waiting)]
    assert not [d for d in deliveries(server, subscriber) if d["alert"]["channel_id"] == pending["id"]], deliveries(server, subscriber)

    link = confirmation_link(server, invitation[0])
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    token = query["token"][0]
    base = link.split("?", 1)[0]
    for bad in (link.replace(f"token={token}", "token=" + ("A" if token[0] != "A" else "B") + token[1:]),
                f"{base}?channel={pending['id']}&expires={int(query['expires'][0]) + 1}&token={token}",
                f"{base}?channel={pending['id']}&expires=1&token={token}",
                f"{base}?channel={pending['id']}"):
        for method in ("GET", "POST"):
            answer = requests.request(method, bad, timeout=30)
            assert 400 <= answer.status_code < 500 and answer.json()["error"]["code"] in {"bad_link", "link_expired"}, describe(answer)
    assert channels(server, subscriber)[pending["id"]]["confirmation"] == "pending"

    confirm_address(server, relay, waiting)
    confirmed = channels(server, subscriber)[pending["id"]]
    assert confirmed["confirmation"] == "confirmed" and confirmed["consent"]["source"] == "confirmation link", confirmed
    second_id = post_event(server, "Lebanese Civil Defense: Rescue teams pull two survivors from the rubble in Nabatieh", [tag])
    mail = relay.wait_for(waiting, lambda mails: mails, f"the alert about {second_id}", server)
    assert len(mail) == 1 and mail[0].message_id.startswith(f"<{second_id}."), [m.describe() for m in mail]


# --- 5. failures (main server) -----------------------------------------------------------------


def test_451_is_retried_then_delivered(server, relay, changelog):
    address, tag = unique_address("greylisted"), unique_tag("retry")
    subscriber = new_subscriber(server, relay, changelog, "retry", {"tags": [tag]}, [address])
    relay.script(address, "451 4.7.1 Greylisted, try again later", "250 2.0.0 Ok: queued")
    event_id = post_event(server, "Iraqi Ministry of Electricity: Power restored in Basra after a grid failure", [tag])

    delivery = wait_for_deliveries(server, subscriber, delivery_of(event_id, subscriber.channel_id(address),
                                                                   {"delivered", "failed", "dead"}), f"the delivery of {event_id}")
    assert delivery["state"] == "delivered", delivery
    attempts = delivery["attempts"]
    assert [(a["attempt"], a["outcome"], a.get("status_code")) for a in attempts] == [(1, "retry", 451), (2, "delivered", 250)], attempts
    assert "451" in (attempts[0].get("detail") or "") or "Greylisted" in (attempts[0].get("detail") or ""), attempts[0]
    mails = relay.mails(address)
    assert [m.reply[:3] for m in mails] == ["451", "250"], [m.describe() for m in mails]
    # The retry is the same message: same Message-ID, same content.
    assert {m.message_id for m in mails} == {f"<{delivery['id']}@{FROM_DOMAIN}>"}, [m.message_id for m in mails]
    assert mails[0].subject == mails[1].subject and parts(mails[0]) == parts(mails[1])


def test_550_fails_and_three_disable_the_channel(server, relay, changelog):
    bouncing, witness, tag = unique_address("bouncing"), unique_address("witness"), unique_tag("bounce")
    # The mailbox existed when its owner confirmed it, and was removed afterwards.
    subscriber = new_subscriber(server, relay, changelog, "bounce", {"tags": [tag]}, [bouncing, witness])
    relay.reject_at_rcpt(bouncing, "550 5.1.1 No such user here")
    channel_id = subscriber.channel_id(bouncing)
    headlines = ["Syrian Observatory: Clashes renewed in the countryside of Sweida",
                 "Sudanese Doctors Network: Shelling on a market in El Fasher kills civilians",
                 "Yemeni Armed Forces: A ballistic missile launched toward the port of Umm al-Rashrash"]
    for number, headline in enumerate(headlines, start=1):
        event_id = post_event(server, headline, [tag])
        delivery = wait_for_deliveries(server, subscriber, delivery_of(event_id, channel_id, {"delivered", "failed", "dead"}),
                                       f"the delivery of {event_id} to the bouncing address")
        assert delivery["state"] == "failed", delivery
        assert [(a["outcome"], a.get("status_code")) for a in delivery["attempts"]] == [("failed", 550)], delivery["attempts"]
        status = channels(server, subscriber)[channel_id]
        expected = "disabled" if number >= BOUNCE_LIMIT else "active"
        assert status["status"] == expected, f"after {number} permanent failure(s): {status}"
    assert channels(server, subscriber)[channel_id]["disabled_reason"], channels(server, subscriber)[channel_id]
    assert channels(server, subscriber)[subscriber.channel_id(witness)]["status"] == "active"
    assert relay.mails(bouncing) == [], "the relay took DATA for a recipient it refused"
    # The witness got every alert, plus a notice that the bouncing address was disabled.
    alerts = [m for m in relay.mails(witness) if b"[NOTICE]" not in m.raw.split(b"\r\n\r\n", 1)[0] and b"NOTICE" not in m.raw[:2000]]
    assert len(alerts) == BOUNCE_LIMIT, [m.describe() for m in relay.mails(witness)]
    assert len(relay.mails(witness)) - len(alerts) <= 1, [m.describe() for m in relay.mails(witness)]


# --- 4. AUTH and STARTTLS (own servers) --------------------------------------------------------


def secret_forms(username: str, password: str) -> list[str]:
    """The password and how AUTH PLAIN / LOGIN carry it."""
    return [password, base64.b64encode(f"\0{username}\0{password}".encode()).decode(),
            base64.b64encode(password.encode()).decode()]


def deliver_one(server: NewsalertServer, relay: MailRelay, label: str, headline: str) -> tuple[Subscriber, Mail, dict]:
    subscriber, address, tag = tagged_subscriber(server, label, relay)
    event_id = post_event(server, headline, [tag])
    delivery = wait_for_deliveries(server, subscriber, delivery_of(event_id, subscriber.channel_id(address),
                                                                   {"delivered", "failed", "dead"}), f"the delivery of {event_id}")
    return subscriber, relay.mails(address), delivery


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_auth_over_plaintext_to_a_loopback_relay(newsalert_bin, tmp_path):
    username, password = "newsalert-relay", f"pw-{uuid.uuid4().hex}"
    relay = MailRelay(auth=(username, password)).start()
    try:
        env = {**os.environ, "NEWSALERT_SMTP_USERNAME": username, "NEWSALERT_SMTP_PASSWORD": password,
               "NEWSALERT_LOG_LEVEL": "debug"}
        with own_newsalert_server(newsalert_bin, tmp_path, serve_args(relay.address, "none"), env=env) as server:
            _, mails, delivery = deliver_one(server, relay, "auth", "Iranian Foreign Ministry: Tehran summons the Swiss envoy")
            assert delivery["state"] == "delivered", f"{delivery}\nrelay AUTH attempts: {relay.auth_attempts}"
            assert len(mails) == 1 and mails[0].authenticated and mails[0].login == username, [m.describe() for m in mails]
            assert relay.auth_attempts and all(ok for _, ok in relay.auth_attempts), relay.auth_attempts
        # The whole output, shutdown included.
        output = (tmp_path / "serve.stdout").read_text(errors="replace") + (tmp_path / "serve.stderr").read_text(errors="replace")
        assert "listening on" in output, output[:2000]  # the log was read (the check below means something)
        for secret in secret_forms(username, password):
            assert secret not in output, "the SMTP password (or its AUTH encoding) is in the server's output"
    finally:
        relay.stop()


def smtp_ca_file_supported(newsalert_bin: Path) -> bool:
    return "--smtp-ca-file" in run_command([newsalert_bin, "serve", "--help"]).stdout


def test_starttls_with_a_private_ca_and_auth(newsalert_bin, tmp_path):
    if not newsalert_serve_status(newsalert_bin)[0]:
        pytest.fail("the serve command is not built yet")
    if not smtp_ca_file_supported(newsalert_bin):
        pytest.fail("`newsalert serve` has no --smtp-ca-file: no way to trust the test relay's CA")
    ca_file, context = tls_authority(tmp_path)
    username, password = "newsalert-tls", f"pw-{uuid.uuid4().hex}"
    relay = MailRelay(auth=(username, password), tls_context=context).start()
    try:
        env = {**os.environ, "NEWSALERT_SMTP_USERNAME": username, "NEWSALERT_SMTP_PASSWORD": password,
               "NEWSALERT_LOG_LEVEL": "debug"}
        args = serve_args(relay.address, "starttls") + ["--smtp-ca-file", os.fspath(ca_file)]
        with own_newsalert_server(newsalert_bin, tmp_path, args, env=env) as server:
            _, mails, delivery = deliver_one(server, relay, "starttls", "Palestinian Red Crescent: Crews reach Jenin camp")
            assert delivery["state"] == "delivered", f"{delivery}\n{server.process.describe()}"
            assert len(mails) == 1, [m.describe() for m in mails]
            assert mails[0].tls and mails[0].authenticated and mails[0].login == username, mails[0].describe()
        output = (tmp_path / "serve.stdout").read_text(errors="replace") + (tmp_path / "serve.stderr").read_text(errors="replace")
        for secret in secret_forms(username, password):
            assert secret not in output, "the SMTP password (or its AUTH encoding) is in the server's output"
    finally:
        relay.stop()


def test_starttls_refuses_an_untrusted_certificate(newsalert_bin, tmp_path):
    _, context = tls_authority(tmp_path)  # the server is not told about this CA
    relay = MailRelay(tls_context=context).start()
    try:
        with own_newsalert_server(newsalert_bin, tmp_path, serve_args(relay.address, "starttls")) as server:
            subscriber, address, tag = tagged_subscriber(server, "untrusted", None)
            event_id = post_event(server, "Syrian Observatory: Convoy stopped near Deir ez-Zor", [tag])
            delivery = wait_for_deliveries(server, subscriber, delivery_of(event_id, subscriber.channel_id(address),
                                                                           {"delivered", "failed", "dead"}), f"the delivery of {event_id}")
            assert delivery["state"] in {"failed", "dead"}, delivery
            assert all(a["outcome"] != "delivered" for a in delivery["attempts"]), delivery["attempts"]
            assert any(re.search(r"(?i)tls|certificate|handshake|ssl", a.get("detail") or "") for a in delivery["attempts"]), delivery["attempts"]
            assert relay.mails() == [], [m.describe() for m in relay.mails()]
    finally:
        relay.stop()


def test_relay_tls_failures_do_not_disable_the_recipients_channel(newsalert_bin, tmp_path):
    """The relay's certificate is the operator's problem, the same for every recipient: it must not count towards
    the per-channel bounce limit (as a 550 for that address does)."""
    _, context = tls_authority(tmp_path)
    relay = MailRelay(tls_context=context).start()
    try:
        with own_newsalert_server(newsalert_bin, tmp_path, serve_args(relay.address, "starttls")) as server:
            subscriber, address, tag = tagged_subscriber(server, "misconfigured", None)
            channel_id = subscriber.channel_id(address)
            for headline in ["Syrian Observatory: Convoy stopped near Deir ez-Zor",
                             "Sudanese Doctors Network: Clinic reopens in Omdurman",
                             "Jordanian Civil Defense: Wildfire contained near the Ajloun forest reserve"]:
                event_id = post_event(server, headline, [tag])
                wait_for_deliveries(server, subscriber, delivery_of(event_id, channel_id, {"delivered", "failed", "dead"}),
                                    f"the delivery of {event_id}")
            channel = channels(server, subscriber)[channel_id]
            assert channel["status"] == "active", channel
    finally:
        relay.stop()


# --- 5. relay down (own server) ----------------------------------------------------------------


def test_relay_down_is_retried_and_replayed(newsalert_bin, tmp_path):
    port = free_port()  # nothing listens here until the relay starts below
    relay = MailRelay(port)
    try:
        with own_newsalert_server(newsalert_bin, tmp_path, serve_args(relay.address)) as server:
            subscriber, address, tag = tagged_subscriber(server, "down", None)
            channel_id = subscriber.channel_id(address)
            event_id = post_event(server, "Iraqi Ministry of Electricity: Grid failure in Basra", [tag])
            first = wait_for_deliveries(server, subscriber, delivery_of(event_id, channel_id, {"retrying", "delivered", "failed", "dead"}),
                                        f"a first attempt of {event_id}")
            assert first["state"] in {"retrying", "dead"}, first
            dead = wait_for_deliveries(server, subscriber, delivery_of(event_id, channel_id, {"delivered", "failed", "dead"}),
                                       f"the delivery of {event_id} to give up")
            assert dead["state"] == "dead", dead
            attempts = dead["attempts"]
            assert [a["outcome"] for a in attempts] == ["retry"] * MAX_ATTEMPTS, attempts
            # Transient: no SMTP reply to log, a reason why not.
            assert all(a.get("status_code") is None and a.get("detail") for a in attempts), attempts
            assert channels(server, subscriber)[channel_id]["status"] == "active", "a relay outage must not disable the channel"

            relay.start()
            replay = call(server, "POST", f"/v1/deliveries/{dead['id']}/replay", server.editor_key, 202)
            assert replay.get("id") == dead["id"], replay
            mail = relay.wait_for(address, lambda mails: mails, "the replayed alert", server)[0]
            delivered = wait_for_deliveries(server, subscriber, delivery_of(event_id, channel_id, {"delivered"}),
                                            f"the replayed delivery of {event_id}")
            assert delivered["attempts"][-1]["outcome"] == "delivered" and delivered["attempts"][-1].get("status_code") == 250, delivered
            assert mail.message_id == f"<{dead['id']}@{FROM_DOMAIN}>", mail.describe()
            assert len(relay.mails(address)) == 1, [m.describe() for m in relay.mails(address)]
    finally:
        relay.stop()


# --- 6. throughput through smtp-sink -----------------------------------------------------------

SMTP_SINK = Path("/usr/sbin/smtp-sink")
# Runs smtp-sink with the signal mask cleared (the test process may hand its children a blocked SIGTERM).
TRAMPOLINE = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, set()); os.execv(sys.argv[1], sys.argv[1:])"


def sink_count(output: str) -> int | None:
    """smtp-sink -c prints running counters (`... mesg=N ...`); the last one."""
    counts = re.findall(r"mesg=(\d+)", output)
    return int(counts[-1]) if counts else None


def wait_listening(port: int, process, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if not process.running() or time.monotonic() > deadline:
                pytest.fail(f"smtp-sink does not listen on {port}\n{process.describe()}")
            time.sleep(0.05)


def test_fifty_alerts_through_smtp_sink(newsalert_bin, tmp_path, spawn):
    if not (SMTP_SINK.is_file() and os.access(SMTP_SINK, os.X_OK)):
        pytest.fail("Postfix's smtp-sink is not installed (apt-get install postfix)")
    port = free_port()
    argv = [sys.executable, "-c", TRAMPOLINE, os.fspath(SMTP_SINK)]
    if os.getuid() == 0:
        argv += ["-u", "nobody"]
    sink = spawn(argv + ["-c", f"127.0.0.1:{port}", "1000"], name="smtp-sink")
    wait_listening(port, sink)

    with own_newsalert_server(newsalert_bin, tmp_path, serve_args(f"127.0.0.1:{port}")) as server:
        subscriber, _, tag = tagged_subscriber(server, "sink", None)
        # Distinct stories: every headline has its own words, so none is a repeat or an update of another.
        event_ids = []
        for number in range(SINK_EVENTS):
            words = " ".join(uuid.uuid4().hex[:6 + n] for n in range(3))
            event_ids.append(post_event(server, f"Wire check {number}: {words}", [tag]))

        def all_settled(found: list[dict]):
            by_event = {d["alert"]["event"]["id"]: d for d in found}
            settled = [by_event[e] for e in event_ids if e in by_event and by_event[e]["state"] in {"delivered", "failed", "dead"}]
            return settled if len(settled) == SINK_EVENTS else None

        settled = wait_for_deliveries(server, subscriber, all_settled, f"{SINK_EVENTS} deliveries to settle", timeout=SINK_TIMEOUT)
        states = {d["id"]: (d["state"], [a.get("status_code") for a in d["attempts"]]) for d in settled if d["state"] != "delivered"}
        assert not states, f"not delivered: {states}"
        assert all(d["attempts"][-1].get("status_code") == 250 for d in settled), [d["attempts"] for d in settled]
    deadline = time.monotonic() + 10
    while (sink_count(sink.stdout()) or 0) < SINK_EVENTS and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (sink_count(sink.stdout()) or 0) >= SINK_EVENTS, f"smtp-sink counted {sink_count(sink.stdout())}\n{sink.describe()}"
