"""A real SMTP peer for the newsalert email delivery tests.

Runs an aiosmtpd server on 127.0.0.1 with an OS-assigned port, prints
"ready port=N" on stdout once it accepts connections, and appends one JSON
object per line to the --record file for every connection and every message
it receives. Messages are parsed back with Python's `email` package so the
tests can check what a real mail reader would see.

Options let a test ask for STARTTLS or implicit TLS (with a trustme CA whose
certificate is written to --ca-file), required AUTH, PIPELINING, a SIZE limit,
SMTPUTF8, no EHLO (forcing a HELO fallback), and scripted DATA failures.
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True, help="JSON-lines file of events")
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--ca-file", help="where to write the test CA certificate (PEM)")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--auth-user")
    parser.add_argument("--auth-password")
    parser.add_argument("--auth-over-plaintext", action="store_true")
    parser.add_argument("--auth-mechanisms", default="", help="comma-separated mechanisms to hide")
    parser.add_argument("--pipelining", action="store_true")
    parser.add_argument("--smtputf8", action="store_true")
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--no-ehlo", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N DATA with --fail-code")
    parser.add_argument("--fail-code", default="451 4.3.0 Try again later")
    parser.add_argument("--idle-timeout", type=float, default=60, help="close idle connections after N seconds")
    parser.add_argument("--close-after-message", action="store_true",
                        help="drop each connection right after accepting a message, as an idle-timeout would")
    parser.add_argument("--reject-rcpt", action="append", default=[], help="answer 550 to RCPT TO this address")
    return parser.parse_args()


class Recorder:
    def __init__(self, path):
        self.path = path
        self.connections = 0

    def write(self, event):
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def describe_message(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding"),
            "content": part.get_content(),
        })
    headers = [[name, str(value)] for name, value in message.items()]
    raw_headers = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    return {
        "subject": str(message["Subject"]) if message["Subject"] is not None else None,
        "from": str(message["From"]) if message["From"] is not None else None,
        "to": str(message["To"]) if message["To"] is not None else None,
        "content_type": message.get_content_type(),
        "headers": headers,
        "raw_headers": raw_headers,
        "defects": [type(defect).__name__ for defect in message.defects],
        "parts": parts,
    }


class Handler:
    def __init__(self, options, recorder, connection_ids):
        self.options = options
        self.recorder = recorder
        self.connection_ids = connection_ids
        self.data_count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.options.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # With PIPELINING the client's RCPT TO and DATA arrive in the same write as MAIL FROM,
        # so they are already buffered when MAIL FROM is handled.
        buffered = bytes(getattr(server._reader, "_buffer", b""))
        self.recorder.write({
            "event": "mail",
            "connection": self.connection_ids.get(id(server)),
            "buffered_after_mail": buffered.decode("utf-8", "replace"),
        })
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.options.reject_rcpt:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_count += 1
        raw = envelope.original_content or b""
        event = {
            "event": "message",
            "connection": self.connection_ids.get(id(server)),
            "sequence": self.data_count,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "helo": session.host_name,
            "extended_smtp": session.extended_smtp,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "raw_b64": base64.b64encode(raw).decode("ascii"),
            "accepted": self.data_count > self.options.fail_first,
        }
        try:
            event["parsed"] = describe_message(raw)
        except Exception as error:  # a parse failure is itself a test finding
            event["parse_error"] = repr(error)
        self.recorder.write(event)
        if self.data_count <= self.options.fail_first:
            return self.options.fail_code
        if self.options.close_after_message:
            # The reply is written before this callback runs; close() flushes it.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return f"250 2.0.0 Ok: queued as PEER{self.data_count:05d}"


def make_authenticator(options):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login.decode() == options.auth_user
              and auth_data.password.decode() == options.auth_password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


class NoEHLOSMTP(SMTP):
    async def smtp_EHLO(self, hostname):
        await self.push("502 5.5.2 Command not recognized")


def make_tls(options):
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1")
    if options.ca_file:
        authority.cert_pem.write_to_path(options.ca_file)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    return context


async def serve(options):
    recorder = Recorder(options.record)
    connection_ids = {}
    handler = Handler(options, recorder, connection_ids)
    tls_context = make_tls(options) if options.tls != "none" else None
    hidden = [name.strip() for name in options.auth_mechanisms.split(",") if name.strip()]
    base_class = NoEHLOSMTP if options.no_ehlo else SMTP

    class protocol_class(base_class):
        def connection_lost(self, error):
            recorder.write({"event": "disconnect", "connection": connection_ids.get(id(self))})
            super().connection_lost(error)

    def factory():
        keywords = dict(
            hostname="peer.newsalert.test",
            data_size_limit=options.size or None,
            enable_SMTPUTF8=options.smtputf8,
            timeout=options.idle_timeout,
        )
        if options.tls == "starttls":
            keywords["tls_context"] = tls_context
            keywords["require_starttls"] = options.require_starttls
        if options.auth_user:
            keywords["authenticator"] = make_authenticator(options)
            keywords["auth_required"] = True
            keywords["auth_require_tls"] = not options.auth_over_plaintext
            if hidden:
                keywords["auth_exclude_mechanism"] = hidden
        protocol = protocol_class(handler, **keywords)
        recorder.connections += 1
        connection_ids[id(protocol)] = recorder.connections
        recorder.write({"event": "connect", "connection": recorder.connections})
        return protocol

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory,
        host="127.0.0.1",
        port=0,
        ssl=tls_context if options.tls == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"ready port={port}", flush=True)

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def watch_parent():
        # Exit on our own if the test process went away without stopping us.
        parent = os.getppid()
        while not stop.is_set():
            if os.getppid() != parent:
                stop.set()
            await asyncio.sleep(1)

    watcher = asyncio.create_task(watch_parent())
    await stop.wait()
    watcher.cancel()
    server.close()


def main():
    options = parse_arguments()
    # The launching process may have these blocked; a blocked SIGTERM would make stopping us slow.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        asyncio.run(serve(options))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
