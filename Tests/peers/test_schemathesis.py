"""Property-based tests of the live HTTP API from its OpenAPI description (schemathesis).

Schemathesis generates valid and invalid requests for every operation of schemas/openapi.yaml
(examples, boundary values, then random ones) and checks each answer: no 5xx, and every body
conforms to the schema documented for its status code. It runs authenticated with the editor key,
bounded in examples per operation and in time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCHEMAS_DIR, load_schema

MAX_EXAMPLES = 30
RUN_TIMEOUT = 420.0  # the whole schemathesis run; a few minutes at most
# Every operation of openapi.yaml, as (method, path).
OPERATIONS = [(method, path) for path, item in load_schema("openapi.yaml")["paths"].items()
              for method in item if method != "parameters"]


def schemathesis_cli() -> str:
    """The `st` executable of the virtualenv running the tests (or the one on PATH)."""
    beside_python = Path(sys.executable).with_name("st")
    found = beside_python if beside_python.is_file() else shutil.which("st")
    if not found:
        pytest.fail("schemathesis' `st` command is not installed (Tests/peers/requirements.txt)")
    return os.fspath(found)


def test_api_conforms_to_openapi(newsalert_server, tmp_path):
    command = [
        schemathesis_cli(), "run", SCHEMAS_DIR / "openapi.yaml",
        "--url", newsalert_server.base_url,
        "--header", f"Authorization: Bearer {newsalert_server.editor_key}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--seed", "20250624",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--generation-database", "none",
        "--no-color",
    ]
    # Run in a scratch folder: schemathesis may leave reports or caches in its working directory.
    try:
        result = subprocess.run([os.fspath(part) for part in command], cwd=tmp_path, capture_output=True,
                                text=True, errors="replace", timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT:.0f} s:\n{(expired.stdout or b'')[-8000:]!r}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis found problems (exit {result.returncode}):\n{output[-12000:]}"
    # A run that tested nothing would also exit 0: make sure every operation was exercised.
    tested = re.search(r"Tested:\s*(\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    assert tested and int(tested.group(1)) == len(OPERATIONS), f"not every operation was tested:\n{output[-4000:]}"
    assert generated and int(generated.group(1)) >= len(OPERATIONS) * 5, f"too few test cases:\n{output[-4000:]}"
