# PortalLinks: set-up, tests, demo and benchmarks. Each target installs what it needs.

SHELL := /bin/bash
APT_PACKAGES := libssl-dev libsqlite3-dev
BIN_DEBUG := .build/debug/portal-links
BIN_RELEASE := .build/release/portal-links
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test demo bench clean

## deps: install the Debian packages the build links against, when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6 in /opt/swift/usr/bin)"; exit 1; }

build: deps
	swift build

## test: build everything, then run every suite (the CLI suites run the built binary).
test: deps
	swift build --build-tests
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) swift test --skip-build

## demo: issue -> verify -> rotate -> revoke on the embedded SQLite default, in a throw-away home.
demo: build
	@PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/demo.sh

## bench: release build, then the in-process benchmark on one core.
bench: deps
	swift build -c release --product portal-links
	$(BIN_RELEASE) bench --in-process

clean:
	rm -rf .build
