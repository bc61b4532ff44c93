#!/usr/bin/env python3
"""Fails `make test` on a skipped test that Tests/expected-skips.txt does not list.

Two uses:
* ``swift test … 2>&1 | scripts/check_skips.py``: echoes swift's output, then lists every test it reports
  as skipped (XCTest's "Test Case '…' skipped", Swift Testing's "Test … skipped") with the reason, and exits
  1 if one is not listed (run it under ``set -o pipefail`` so swift's own failure counts too).
* imported by Tests/peers/conftest.py: ``expected_skips()`` and ``unexpected(skipped)`` for pytest's skips.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

EXPECTED_FILE = Path(__file__).resolve().parents[1] / "Tests" / "expected-skips.txt"

XCTEST_SKIP = re.compile(r"Test Case '(?P<name>[^']+)' skipped(?: \([\d.]+ seconds\))?")
SWIFT_TESTING_SKIP = re.compile(r"^\W*Test (?!run )(?P<name>.+?) skipped(?:: \"?(?P<reason>.*?)\"?)?\.?$")


def expected_skips() -> dict[str, str]:
    """Test id → reason, from Tests/expected-skips.txt."""
    listed: dict[str, str] = {}
    for line in EXPECTED_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" -- ")
        listed[name.strip()] = reason.strip()
    return listed


def unexpected(skipped: dict[str, str]) -> dict[str, str]:
    """The skipped tests (id → reason) that the expected list does not name."""
    listed = expected_skips()
    return {name: reason for name, reason in skipped.items() if name not in listed}


def report(skipped: dict[str, str], out=sys.stdout) -> int:
    """Prints every skip with its reason; 1 when one of them is not expected."""
    if not skipped:
        print("skipped tests: none", file=out)
        return 0
    surprises = unexpected(skipped)
    print(f"skipped tests: {len(skipped)}", file=out)
    for name, reason in sorted(skipped.items()):
        mark = "NOT EXPECTED" if name in surprises else "expected"
        print(f"  {mark}: {name} -- {reason or 'no reason given'}", file=out)
    if surprises:
        print(f"{len(surprises)} skipped test(s) not listed in {EXPECTED_FILE.name}: make test fails", file=out)
        return 1
    return 0


def main() -> int:
    skipped: dict[str, str] = {}
    for line in sys.stdin:
        sys.stdout.write(line)
        text = line.strip()
        if match := XCTEST_SKIP.search(text):
            skipped[match["name"]] = ""
        elif match := SWIFT_TESTING_SKIP.search(text):
            skipped[match["name"]] = match["reason"] or ""
    sys.stdout.flush()
    return report(skipped)


if __name__ == "__main__":
    sys.exit(main())
