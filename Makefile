# newsalert: `make serve` runs the service on the embedded broker, `make test` runs every test.
SWIFT ?= swift
SHELL := /bin/bash
PYTEST := .venv/bin/pytest
export NEWSALERT_BIN := $(CURDIR)/.build/debug/newsalert

.PHONY: serve test build test-swift test-peers clean

build:
	scripts/bootstrap.sh build
	$(SWIFT) build

serve: build
	$(NEWSALERT_BIN) serve

test:
	scripts/bootstrap.sh test
	$(SWIFT) build --build-tests
	set -o pipefail; $(SWIFT) test --skip-build 2>&1 | python3 scripts/check_skips.py
	$(PYTEST) -q Tests/peers

clean:
	rm -rf .build .venv
