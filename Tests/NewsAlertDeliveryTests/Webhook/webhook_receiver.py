#!/usr/bin/env python3
"""A webhook endpoint for the newsalert delivery tests.

Listens on 127.0.0.1 (an ephemeral port), prints "ready port=N" (and writes N to
--ready-file if given), and for every POST:
verifies the Standard Webhooks signature with the reference library, once per --secret,
and also verifies a tampered copy of the body (which must fail); appends one JSON line per
request to --log; answers with the next --respond entry (the last one repeats).

A --respond entry is STATUS[;retry-after=VALUE][;sleep=SECONDS][;location=PATH], e.g.
"200", "500", "429;retry-after=7", "410", "200;sleep=30", "302;location=/elsewhere".
With --tls-name the receiver speaks HTTPS with a certificate for that name only, issued by a
throwaway CA (trustme) whose certificate goes to --ca-file.
Requests to a path other than the first one seen are logged too, so a followed redirect shows.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def parse_response(spec):
    parts = spec.split(";")
    response = {"status": int(parts[0]), "headers": {}, "sleep": 0.0}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key == "retry-after":
            response["headers"]["Retry-After"] = value
        elif key == "location":
            response["headers"]["Location"] = value
        elif key == "sleep":
            response["sleep"] = float(value)
        else:
            raise SystemExit(f"unknown response option {key!r}")
    return response


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", action="append", default=[], help="whsec_ secret to verify with; repeatable")
    parser.add_argument("--respond", action="append", default=[], help="response spec; repeatable, in order")
    parser.add_argument("--log", required=True, help="file to append one JSON line per request to")
    parser.add_argument("--tls-name", help="serve HTTPS with a certificate for this name from a throwaway CA")
    parser.add_argument("--ca-file", help="with --tls-name: where to write that CA's certificate (PEM)")
    parser.add_argument("--ready-file", help="also write the port to this file once listening")
    parser.add_argument("--max-seconds", type=float, default=120, help="exit after this long in any case")
    args = parser.parse_args()

    # A parent may start us with SIGTERM blocked or ignored; make sure it ends us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    webhooks = [Webhook(secret) for secret in args.secret]
    responses = [parse_response(spec) for spec in (args.respond or ["200"])]
    lock = threading.Lock()
    state = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}

            def verify(webhook, data):
                try:
                    webhook.verify(data, headers, json_parse=False)
                    return None
                except Exception as error:  # noqa: BLE001 - any failure means "not verified"
                    return str(error) or type(error).__name__

            errors = [verify(w, body) for w in webhooks]
            tampered_errors = [verify(w, body + b" ") for w in webhooks]
            with lock:
                index = state["count"]
                state["count"] += 1
            response = responses[min(index, len(responses) - 1)]
            record = {
                "index": index,
                "path": self.path,
                "host": headers.get("host"),
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "signature_count": len(headers.get("webhook-signature", "").split()),
                "content_type": headers.get("content-type"),
                "body": body.decode("utf-8", "replace"),
                "verified": [error is None for error in errors],
                "verify_errors": errors,
                "tampered_verified": [error is None for error in tampered_errors],
                "status": response["status"],
            }
            with lock:
                with open(args.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")
            if response["sleep"]:
                time.sleep(response["sleep"])
            try:
                payload = b"ok\n"
                self.send_response(response["status"])
                for name, value in response["headers"].items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.tls_name:
        import ssl

        import trustme

        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(args.tls_name).configure_cert(context)
        with open(args.ca_file, "wb") as ca_file:
            ca_file.write(ca.cert_pem.bytes())
        server.socket = context.wrap_socket(server.socket, server_side=True)
    deadline = threading.Timer(args.max_seconds, lambda: threading.Thread(target=server.shutdown).start())
    deadline.daemon = True
    deadline.start()
    port = server.server_address[1]
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w", encoding="utf-8") as ready:
            ready.write(str(port))
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(f"ready port={port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
