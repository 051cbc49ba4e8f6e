# PortalLinks: set-up, tests, demo and benchmarks. Each target installs what it needs.

SHELL := /bin/bash
APT_PACKAGES := libssl-dev libsqlite3-dev libargon2-dev
BIN_DEBUG := .build/debug/portal-links
BIN_RELEASE := .build/release/portal-links
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PROTOS := $(sort $(wildcard Protos/portal_links/v1/*.proto))
PROTO_SWIFT_OUT := Sources/PortalLinksMessages
PROTOC_GEN_SWIFT := .build-protoc/release/protoc-gen-swift

.PHONY: deps build test demo serve bench soak clean protos check-protos

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

## test: check the generated code is current, build everything, then run every suite.
test: deps check-protos
	swift build --build-tests
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) swift test --skip-build

## demo: issue -> verify -> rotate -> revoke on the embedded SQLite default, in a throw-away home.
demo: build
	@PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/demo.sh

## serve: release build, then the verify service on 127.0.0.1:7420 over the embedded SQLite default
## ($$PORTAL_LINKS_HOME or ~/.portal-links; a new home gets a caller API key and a sample link, printed once).
serve: deps
	swift build -c release --product portal-links
	$(BIN_RELEASE) serve $(SERVE_ARGS)

## bench: release build; the in-process benchmark on one core; then Redis GET and Links.Verify side by side.
bench: deps
	@for p in redis-server redis-tools; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	swift build -c release --product portal-links
	$(BIN_RELEASE) bench --in-process
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/bench-network.sh

## soak: ten minutes of full load on Links.Verify, sampling the server's memory (SOAK_SECONDS to change).
soak: deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/soak.sh

## protos: regenerate the Swift messages from Protos/ (protoc from Debian, protoc-gen-swift built once from
## the swift-protobuf dependency) and record the checksum of the sources they came from.
protos: deps
	@command -v protoc >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq protobuf-compiler; }
	swift package resolve
	[ -x $(PROTOC_GEN_SWIFT) ] || swift build --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc -c release --product protoc-gen-swift
	rm -f $(PROTO_SWIFT_OUT)/*.pb.swift
	protoc --plugin=protoc-gen-swift=$(PROTOC_GEN_SWIFT) --swift_out=$(PROTO_SWIFT_OUT) \
		--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath -IProtos $(PROTOS)
	sha256sum $(PROTOS) > $(PROTO_SWIFT_OUT)/protos.sha256

## check-protos: fail when Protos/ changed since the committed Swift code was generated (no protoc needed).
check-protos:
	@sha256sum --quiet -c $(PROTO_SWIFT_OUT)/protos.sha256 && \
		[ "$$(cut -d' ' -f3 $(PROTO_SWIFT_OUT)/protos.sha256 | sort | tr '\n' ' ')" = "$(PROTOS) " ] || \
		{ echo "the generated Swift code in $(PROTO_SWIFT_OUT) is stale: run make protos and commit"; exit 1; }

clean:
	rm -rf .build
