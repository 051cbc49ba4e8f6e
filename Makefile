# PortalLinks: set-up, tests, demo and benchmarks. Each target installs what it needs.

SHELL := /bin/bash
APT_PACKAGES := libssl-dev libsqlite3-dev libargon2-dev
BIN_DEBUG := .build/debug/portal-links
BIN_RELEASE := .build/release/portal-links
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PROTOS := $(sort $(wildcard Protos/portal_links/v1/*.proto))
PROTO_SWIFT_OUT := Sources/PortalLinksMessages
PROTOC_GEN_SWIFT := .build-protoc/release/protoc-gen-swift
PROTO_C_OUT := Clients/c/generated
PROTO_PYTHON_OUT := Clients/python/src
# Each folder of generated code records the checksum of the sources it came from.
PROTO_SUMS := $(PROTO_SWIFT_OUT)/protos.sha256 $(PROTO_C_OUT)/protos.sha256 $(PROTO_PYTHON_OUT)/portal_links/v1/protos.sha256
# What the tests need beyond the build: the C client (protobuf-c, valgrind), the crash tests (strace) and
# Unicode's own data for the one-spelling tests (unicode-data: NormalizationTest.txt, compressed, hence bzip2).
TEST_APT_PACKAGES := libprotobuf-c-dev valgrind strace unicode-data bzip2

.PHONY: deps client-deps build test test-clients demo serve bench bench-clients cluster-test bench-cluster soak fuzz clean protos check-protos

## deps: install the Debian packages the build links against, when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6 in /opt/swift/usr/bin)"; exit 1; }

## client-deps: what building and testing the C and Python clients, and the crash tests, need, when missing.
client-deps:
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	swift build

## test: check the generated code is current, build everything, run every Swift suite (the stores' against
## SQLite and a throw-away PostgreSQL cluster, which with-postgres.sh installs when missing), then the C and
## Python clients against a conformance server, with TLS and without, then the multi-node checks of
## cluster-test, then hostile clients against a live server, then kill -9 of staff commands and of the
## server and a full disk (scripts/crash-test.py); last, every log, error, metrics text and audit
## listing those runs produced is scanned for the secrets they made (scripts/scan-secrets.py).
CAPTURE := $(CURDIR)/.build/secrets-scan
test: deps client-deps check-protos
	rm -rf $(CAPTURE)
	swift build --build-tests
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/with-postgres.sh ./scripts/swift-test.sh
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/test-clients.sh
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/cluster.sh test
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/hostile-clients.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/crash-test.sh
	python3 scripts/scan-secrets.py $(CAPTURE)

## test-clients: only the C and Python clients' tests (after a debug build).
test-clients: deps client-deps
	swift build --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/test-clients.sh

## demo: issue -> verify -> rotate -> revoke on the embedded SQLite default, in a throw-away home.
demo: build
	@PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/demo.sh

## serve: release build, then the verify service on 127.0.0.1:7420 over the embedded SQLite default
## ($$PORTAL_LINKS_HOME or ~/.portal-links; a new home gets a caller API key and a sample link, printed once).
serve: deps
	swift build -c release --product portal-links
	$(BIN_RELEASE) serve $(SERVE_ARGS)

## bench: release build; the in-process benchmark on one core; then Redis GET and Links.Verify side by side
## (each with its own load generator, then both with scripts/pipelined-load.c);
## then the C and Python clients' verify_many against portal-links bench at the same depth.
bench: deps client-deps
	@for p in redis-server redis-tools; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	swift build -c release --product portal-links
	$(BIN_RELEASE) bench --in-process
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/bench-network.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/bench-clients.sh

## bench-clients: only the clients' comparison with portal-links bench.
bench-clients: deps client-deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/bench-clients.sh

## cluster-test: three serve nodes, one PostgreSQL and HAProxy on loopback: register and verify through the
## balancer, emergency rotation and client revocation reaching every node, a node stopped mid-load and
## restarted, PostgreSQL restarted under load (scripts/cluster.py).
cluster-test: deps client-deps
	swift build --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/cluster.sh test

## bench-cluster: Verify throughput through HAProxy with 1, 2 and 3 nodes (release build).
bench-cluster: deps client-deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./scripts/cluster.sh bench

## soak: SOAK_MINUTES (default 10) of mixed load on one release server: Links.Verify (valid, expired, forged) from
## portal-links bench, register / sign-in / refresh from the Python client; throughput, p99, memory and errors
## per minute, then whether memory stayed flat, p99 stable and errors nil (scripts/soak.py).
soak: deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) SOAK_MINUTES=$(SOAK_MINUTES) $$(./scripts/python-env.sh) scripts/soak.py

## fuzz: libFuzzer with the address sanitizer on the frame decoder, the token verifiers, every request handler of
## a live server and the CSV reader, FUZZ_SECONDS (default 60) each; not part of make test (scripts/fuzz.sh).
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

## protos: regenerate the messages from Protos/ for Swift (protoc-gen-swift, built once from the swift-protobuf
## dependency), C (protoc-c) and Python (protoc), and record the checksum of the sources they came from.
protos: deps
	@missing=""; for p in protobuf-compiler protobuf-c-compiler; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	swift package resolve
	[ -x $(PROTOC_GEN_SWIFT) ] || swift build --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc -c release --product protoc-gen-swift
	rm -f $(PROTO_SWIFT_OUT)/*.pb.swift $(PROTO_C_OUT)/portal_links/v1/*.pb-c.[ch] $(PROTO_PYTHON_OUT)/portal_links/v1/*_pb2.py*
	protoc --plugin=protoc-gen-swift=$(PROTOC_GEN_SWIFT) --swift_out=$(PROTO_SWIFT_OUT) \
		--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath -IProtos $(PROTOS)
	protoc --c_out=$(PROTO_C_OUT) -IProtos $(PROTOS)
	protoc --python_out=$(PROTO_PYTHON_OUT) --pyi_out=$(PROTO_PYTHON_OUT) -IProtos $(PROTOS)
	for sums in $(PROTO_SUMS); do sha256sum $(PROTOS) > $$sums; done

## check-protos: fail when Protos/ changed since any committed generated code was made (no protoc needed), or
## when the ASCII look-alike table no longer matches Unicode's data (scripts/generate-ascii-lookalikes.py).
check-protos:
	@python3 scripts/generate-ascii-lookalikes.py --check
	@for sums in $(PROTO_SUMS); do \
		sha256sum --quiet -c $$sums && [ "$$(cut -d' ' -f3 $$sums | sort | tr '\n' ' ')" = "$(PROTOS) " ] || \
		{ echo "the generated code beside $$sums is stale: run make protos and commit"; exit 1; }; \
	done

clean:
	rm -rf .build Clients/c/build .build-python .build-fuzz
