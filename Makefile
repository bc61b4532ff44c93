# newsalert: `make serve` runs the service on the embedded broker, `make test` runs every test.
SWIFT ?= swift
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
	$(SWIFT) test --skip-build
	$(PYTEST) -q Tests/peers

clean:
	rm -rf .build .venv
