"""Bulk subscribers: ``POST /v1/subscribers/import``, ``GET /v1/subscribers/export`` and
``newsalert subscribers import``, driven by ``requests`` (a streamed, chunked upload) against a ``newsalert serve``.

* A file mixing good lines with bad ones (an unknown field, a bad time zone, a webhook URL the SSRF guard
  refuses, a duplicate ``external_id``) is answered line by line: the bad lines name their line and field and
  write nothing; every good line is imported.
* Right after the import answered, a breaking item reaches every imported subscriber once, signed with the
  ``whsec_`` secret the line brought or the one generated and returned in that line's report, as the reference
  ``standardwebhooks`` library verifies.
* Importing the file again changes nothing; the export streams every subscriber in the import line shape with its
  secrets, and imports back unchanged; the CLI prints a summary and writes the report.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Iterator

import pytest

from conftest import NewsalertServer, describe, own_newsalert_server, post_event, run_command, unique_tag, wait_for_received
from test_webhook_delivery import Receiver, alerts_of_event, check_delivery

SUBSCRIBERS = 120
DELIVERY_TIMEOUT = 60.0
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def server(newsalert_bin: Path, tmp_path_factory) -> Iterator[NewsalertServer]:
    with own_newsalert_server(newsalert_bin, tmp_path_factory.mktemp("subscriber-import"), ["--webhook-allow", "127.0.0.1/32"]) as server_:
        yield server_


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver_ = Receiver()
    yield receiver_
    receiver_.close()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def import_file(server: NewsalertServer, lines: list[str]) -> tuple[list[dict], dict, object]:
    """Uploads ``lines`` as a chunked stream (one chunk a line); returns the per-line reports, the summary and the answer."""
    def body() -> Iterator[bytes]:
        for line in lines:
            yield (line + "\n").encode()

    response = server.request("POST", "/v1/subscribers/import", key=server.admin_key, headers=NDJSON, data=body(), timeout=120)
    assert response.status_code == 200, describe(response)
    assert response.headers["Content-Type"].startswith("application/x-ndjson"), describe(response)
    reports = [json.loads(line) for line in response.text.splitlines()]
    assert "summary" in reports[-1], reports[-1]
    return reports[:-1], reports[-1]["summary"], response


def test_import_reports_bad_lines_alerts_every_good_one_and_exports(server, receiver, tmp_path, newsalert_bin):
    tag = unique_tag("import")
    given = {index: new_secret() for index in range(0, SUBSCRIBERS, 2)}
    good = []
    for index in range(SUBSCRIBERS):
        channel = {"kind": "webhook", "url": receiver.url(f"/import/{index}")}
        if index in given:
            channel["secret"] = given[index]
        good.append({"external_id": f"crm-{tag}-{index}", "name": f"Reader {index}", "time_zone": "Europe/Berlin",
                     "channels": [channel], "subscriptions": [{"rule": {"tags": [tag]}}]})
    lines = [json.dumps(line) for line in good]
    # Bad lines, at known line numbers (1-based), each with the field it must name.
    bad = {
        5: ({**good[0], "external_id": f"bad-{tag}-unknown", "colour": "red"}, "colour"),
        17: ({**good[0], "external_id": f"bad-{tag}-zone", "time_zone": "Europe/Atlantis"}, "time_zone"),
        40: ({**good[0], "external_id": f"bad-{tag}-ssrf", "channels": [{"kind": "webhook", "url": "http://169.254.169.254/latest/meta-data"}]},
             "channels[0].url"),
        77: ({**good[3], "name": "Same subscriber again"}, "external_id"),
    }
    for number in sorted(bad):
        lines.insert(number - 1, json.dumps(bad[number][0]))

    reports, summary, response = import_file(server, lines)
    assert response.headers.get("Newsalert-Replication") == "applied", describe(response)
    assert summary == {"lines": len(lines), "created": SUBSCRIBERS, "updated": 0, "unchanged": 0, "rejected": len(bad)}, summary
    assert [report["line"] for report in reports] == list(range(1, len(lines) + 1))
    rejected = {report["line"]: report for report in reports if report["status"] == "rejected"}
    assert sorted(rejected) == sorted(bad), rejected
    for number, (_, field) in bad.items():
        assert [error["field"] for error in rejected[number]["errors"]] == [field], rejected[number]
    assert "line 4" in rejected[77]["errors"][0]["problem"], rejected[77]
    created = {report["external_id"]: report for report in reports if report["status"] == "created"}
    assert created[f"crm-{tag}-3"]["subscriber_id"] and len(created) == SUBSCRIBERS
    # The duplicate changed nothing: the first line's name stays.
    stored = server.request("GET", f"/v1/subscribers/{created[f'crm-{tag}-3']['subscriber_id']}", key=server.admin_key).json()
    assert stored["name"] == "Reader 3", stored

    # Each subscriber signs with the secret it brought, or the one its report returned (never a brought one).
    secrets = {}
    for index in range(SUBSCRIBERS):
        channel = created[f"crm-{tag}-{index}"]["channels"][0]
        if index in given:
            assert "secret" not in channel, channel
            secrets[index] = given[index]
        else:
            assert channel["secret"].startswith("whsec_"), channel
            secrets[index] = channel["secret"]

    # Posted the moment the import answered: every imported subscriber is alerted once, verifiably signed.
    event_id = post_event(server, "Flash: ceasefire announced across the southern front", [tag], urgency=1)
    paths = [f"/import/{index}" for index in range(SUBSCRIBERS)]
    wait_for_received(lambda: [path for path in paths if alerts_of_event(event_id)(receiver.requests(path))],
                      lambda done: len(done) == SUBSCRIBERS, DELIVERY_TIMEOUT, f"an alert at each of {SUBSCRIBERS} paths", server)
    for index, path in enumerate(paths):
        requests_ = alerts_of_event(event_id)(receiver.requests(path))
        assert len(requests_) == 1, f"{path} got {len(requests_)} alerts"
        check_delivery(requests_[0], [secrets[index]])

    # The same file again: nothing changes, the same lines are refused.
    reports_again, summary_again, _ = import_file(server, lines)
    assert summary_again == {"lines": len(lines), "created": 0, "updated": 0, "unchanged": SUBSCRIBERS, "rejected": len(bad)}
    assert [report["subscriber_id"] for report in reports_again if report["status"] != "rejected"] == \
        [report["subscriber_id"] for report in reports if report["status"] != "rejected"]

    # The export streams every subscriber in the import shape, with its secret; it imports back unchanged.
    with server.request("GET", "/v1/subscribers/export", key=server.admin_key, stream=True) as export:
        assert export.status_code == 200, describe(export)
        exported = [json.loads(line) for line in export.iter_lines() if line]
    mine = {line["external_id"]: line for line in exported if line["external_id"].startswith(f"crm-{tag}-")}
    assert len(mine) == SUBSCRIBERS
    assert all(set(line) <= {"external_id", "name", "time_zone", "budget", "channels", "subscriptions"} for line in exported)
    assert {index: mine[f"crm-{tag}-{index}"]["channels"][0]["secret"] for index in range(SUBSCRIBERS)} == secrets
    export_file = tmp_path / "export.jsonl"
    export_file.write_text("".join(json.dumps(line) + "\n" for line in exported))

    # The CLI streams the file, prints a summary and writes the report; exit 0 when no line was refused.
    result = run_command([newsalert_bin, "subscribers", "import", export_file, "--url", server.base_url, "--api-key", server.admin_key],
                         timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"imported {len(exported)} lines" in result.stdout and f"{len(exported)} unchanged, 0 rejected" in result.stdout, result.stdout
    report_lines = (tmp_path / "export.report.jsonl").read_text().splitlines()
    assert json.loads(report_lines[-1])["summary"]["unchanged"] == len(exported)

    # With refused lines it says which, by line and field, and exits 2.
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text(json.dumps(bad[17][0]) + "\n")
    result = run_command([newsalert_bin, "subscribers", "import", bad_file, "--url", server.base_url, "--api-key", server.admin_key,
                          "--report", tmp_path / "bad-report.jsonl"], timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "line 1: time_zone:" in result.stderr and "1 rejected" in result.stdout, (result.stdout, result.stderr)


def test_import_needs_an_admin_key_and_ndjson(server):
    line = json.dumps({"external_id": "x", "name": "x", "time_zone": "UTC", "channels": [], "subscriptions": []})
    assert server.request("POST", "/v1/subscribers/import", headers=NDJSON, data=line).status_code == 401
    for key, expected in ((server.editor_key, 403),):
        response = server.request("POST", "/v1/subscribers/import", key=key, headers=NDJSON, data=line)
        assert response.status_code == expected and response.json()["error"]["status"] == expected, describe(response)
    response = server.request("GET", "/v1/subscribers/export", key=server.editor_key)
    assert response.status_code == 403, describe(response)
    response = server.request("POST", "/v1/subscribers/import", key=server.admin_key, headers={"Content-Type": "text/csv"}, data=line)
    assert response.status_code == 415, describe(response)
