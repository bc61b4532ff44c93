"""`newsalert publish`: the newsroom's command-line publisher, against a running service and Kafka.

Each record it reports is read back from `news.events` with kcat, so the test sees what any Kafka
client downstream would see.
"""

import json
import subprocess

import pytest

PUBLISH_TIMEOUT = 60


def publish(newsalert_bin, server, *args, env_key=True):
    """Runs `newsalert publish` against `server`, the API key passed through the environment."""
    env = {"PATH": "/usr/bin:/bin", "NEWSALERT_URL": server.base_url}
    if env_key:
        env["NEWSALERT_API_KEY"] = server.editor_key
    return subprocess.run([str(newsalert_bin), "publish", *map(str, args)], capture_output=True, text=True,
                          timeout=PUBLISH_TIMEOUT, env=env, stdin=subprocess.DEVNULL)


def read_events(server, ids):
    """The news.events records whose key is one of `ids`, as kcat prints them (JSON envelopes)."""
    output = subprocess.run(["kcat", "-C", "-b", server.bootstrap_servers, "-t", "news.events", "-e", "-J", "-q"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    return [record for record in records if record["key"] in ids]


def test_publish_one_breaking_item(newsalert_bin, newsalert_server):
    """--headline/--section/--region/--urgency publish one event that lands on news.events once."""
    result = publish(newsalert_bin, newsalert_server, "--headline", "Naeini: our response will be stronger (cli)",
                     "--section", "Politics", "--region", "MENA", "--urgency", "2")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("accepted evt_"), line
    event_id = line.split()[1]
    records = read_events(newsalert_server, {event_id})
    assert len(records) == 1
    event = json.loads(records[0]["payload"])
    assert (event["section"], event["regions"], event["urgency"]) == ("Politics", ["MENA"], 2)


def test_publish_file_reports_each_rejected_line_and_never_publishes_twice(newsalert_bin, newsalert_server, tmp_path):
    """A .jsonl file: good lines accepted, bad ones rejected with their reason; a re-run adds nothing."""
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join([
        json.dumps({"kind": "breaking", "headline": "File line one: drone strike near Khiam (cli)"}),
        json.dumps({"kind": "breaking", "headline": "", "urgency": 12}),
        json.dumps({"kind": "article", "headline": "File line three: analysis of the truce (cli)", "section": "Politics"}),
        "{not json",
    ]) + "\n", encoding="utf-8")
    first = publish(newsalert_bin, newsalert_server, "--file", items)
    assert first.returncode == 2, first.stdout + first.stderr
    assert "accepted 2, rejected 2 of 4 items" in first.stdout
    assert "line 2: HTTP 422 invalid_fields: headline: must not be empty; urgency:" in first.stdout
    assert "line 4: HTTP 400 invalid_json" in first.stdout

    again = publish(newsalert_bin, newsalert_server, "--file", items)
    assert "accepted 2, rejected 2 of 4 items" in again.stdout
    headlines = []
    output = subprocess.run(["kcat", "-C", "-b", newsalert_server.bootstrap_servers, "-t", "news.events", "-e", "-J", "-q"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    for line in output.splitlines():
        payload = json.loads(json.loads(line)["payload"])
        headlines.append(payload["headline"])
    # The idempotency keys derive from file name, line number and content: the re-run published nothing new.
    assert headlines.count("File line one: drone strike near Khiam (cli)") == 1
    assert headlines.count("File line three: analysis of the truce (cli)") == 1


def test_publish_without_a_key_says_how_to_get_one(newsalert_bin, newsalert_server):
    result = publish(newsalert_bin, newsalert_server, "--headline", "x", env_key=False)
    assert result.returncode != 0
    assert "newsalert keys create" in result.stderr
