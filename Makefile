# PortalLinks: set-up, tests, demo and benchmarks. Each target installs what it needs.

SHELL := /bin/bash
APT_PACKAGES := libssl-dev libsqlite3-dev libargon2-dev zlib1g-dev libcurl4-openssl-dev
BIN_DEBUG := .build/debug/portal-links
BIN_RELEASE := .build/release/portal-links

# The messages, from which every client's code is generated; services.proto only groups their methods into
# services for Connect (docs/http.md) and generates no message code.
PROTOS := $(sort $(filter-out %/services.proto,$(wildcard Protos/portal_links/v1/*.proto)))
PROTO_SWIFT_OUT := Sources/PortalLinksMessages
PROTOC_GEN_SWIFT := .build-protoc/release/protoc-gen-swift
PROTO_C_OUT := Clients/c/generated
PROTO_PYTHON_OUT := Clients/python/src
# Each folder of generated code records the checksum of the sources it came from.
PROTO_SUMS := $(PROTO_SWIFT_OUT)/protos.sha256 $(PROTO_C_OUT)/protos.sha256 $(PROTO_PYTHON_OUT)/portal_links/v1/protos.sha256
# Connect's Python client, for the HTTP gateway's tests: messages and services, with the plugin from PyPI.
CONNECT_PROTOS := $(sort $(wildcard Protos/portal_links/v1/*.proto))
CONNECT_PYTHON_OUT := IntegrationTests/connect/generated
CONNECT_SUMS := $(CONNECT_PYTHON_OUT)/portal_links/v1/protos.sha256
# What the tests need beyond the build: the C client (protobuf-c, valgrind), the crash tests (strace) and
# Unicode's own data for the one-spelling tests (unicode-data: NormalizationTest.txt, compressed, hence bzip2).
TEST_APT_PACKAGES := libprotobuf-c-dev valgrind strace unicode-data bzip2

.PHONY: help deps client-deps build install man test test-clients demo serve bench bench-clients cluster-test bench-cluster soak fuzz clean protos check-protos docs

## help: list the targets, each with the first line of its description.
help:
	@awk '/^## [a-z-]+: / { name = $$2; sub(/:$$/, "", name); printf "  %-14s %s\n", name, substr($$0, length($$2) + 5) }' $(MAKEFILE_LIST)

## deps: install the Debian packages the build links against, when missing.
deps:
	@./scripts/apt-install-missing.sh $(APT_PACKAGES)
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6 in /opt/swift/usr/bin)"; exit 1; }

## client-deps: what building and testing the C and Python clients, and the crash tests, need, when missing.
client-deps:
	@./scripts/apt-install-missing.sh $(TEST_APT_PACKAGES)

build: deps
	swift build

## install: the binary, its man page, bash/zsh/fish completions, the systemd unit and the example settings file.
## Under $$(DESTDIR)$$(PREFIX) (PREFIX=/usr/local): bin/, share/man/man1/, share/bash-completion/completions/,
## share/zsh/site-functions/, share/fish/vendor_completions.d/, lib/systemd/system/, share/doc/portal-links/
## (docs/deploying.md). A release build; INSTALL_CONFIGURATION=debug installs the debug one.
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_CONFIGURATION ?= release
install: deps
	swift build -c $(INSTALL_CONFIGURATION) --product portal-links
	./scripts/install.sh "$(DESTDIR)" "$(PREFIX)" .build/$(INSTALL_CONFIGURATION)/portal-links

## man: write dist/man/portal-links.1 from the commands' definitions (swift-argument-parser's generate-manual plugin).
man: deps
	./scripts/man-page.sh

## test: every test suite, from a fresh clone (docs/testing.md).
## Checks Package.swift declares every import and the Swift client links neither libcrypto nor libargon2,
## checks the generated code, the CLI reference and the man page are current, builds everything, runs the README's walk-through, runs every Swift suite (the stores' against
## SQLite and a throw-away PostgreSQL cluster, which with-postgres.sh installs when missing), then the C and
## Python clients against a conformance server, with TLS and without, then the multi-node checks of
## cluster-test, then hostile clients against a live server, then forward auth through nginx and Caddy
## configured as docs/http.md shows, then Connect's Python client against the HTTP gateway, then kill -9 of staff commands and of the
## server and a full disk (IntegrationTests/crash-test.py); last, every log, error, metrics text and audit
## listing those runs produced is scanned for the secrets they made (scripts/scan-secrets.py).
CAPTURE := $(CURDIR)/.build/secrets-scan
test: deps client-deps check-protos
	rm -rf $(CAPTURE)
	swift build --build-tests
	python3 scripts/check-dependencies.py
	python3 scripts/generate-cli-reference.py --check $(BIN_DEBUG)
	./scripts/man-page.sh --check
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/check-readme.sh
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/with-postgres.sh ./scripts/swift-test.sh
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/test-clients.sh
	PORTAL_LINKS_CAPTURE=$(CAPTURE) PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/cluster.sh test
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/hostile-clients.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/proxies.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/connect.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/bench.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/bench-netns.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/email.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/systemd.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/config.sh
	./IntegrationTests/install.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/crash-test.sh
	python3 scripts/scan-secrets.py $(CAPTURE)

## test-clients: only the C and Python clients' tests (after a debug build).
test-clients: deps client-deps
	swift build --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/test-clients.sh

## demo: issue -> verify -> rotate -> revoke on the embedded SQLite default, in a throw-away home.
demo: build
	@PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./scripts/demo.sh

## serve: run the service on 127.0.0.1:7420 over the embedded SQLite default (release build).
## The home is $$PORTAL_LINKS_HOME or ~/.portal-links; a new home gets a caller API key and a sample link, printed once.
serve: deps
	swift build -c release --product portal-links
	$(BIN_RELEASE) serve $(SERVE_ARGS)

## bench: the benchmarks of docs/benchmarks.md (release build).
## The in-process benchmark on one core; then Redis GET and Links.Verify side by side
## (each with its own load generator, then both with Benchmarks/pipelined-load.c);
## then the C and Python clients' verify_many against portal-links bench at the same depth;
## then the HTTP gateway (forward auth, Connect JSON) against nginx's `return 200` with wrk.
bench: deps client-deps
	@./scripts/apt-install-missing.sh redis-server redis-tools wrk nginx
	swift build -c release --product portal-links
	$(BIN_RELEASE) bench --in-process
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./Benchmarks/bench-network.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./Benchmarks/bench-clients.sh
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./Benchmarks/bench-http.sh

## bench-clients: only the clients' comparison with portal-links bench.
bench-clients: deps client-deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./Benchmarks/bench-clients.sh

## cluster-test: three serve nodes, one PostgreSQL and HAProxy on loopback (also part of make test).
## Register and verify through the balancer, emergency rotation and client revocation reaching every node, a node stopped mid-load and
## restarted, PostgreSQL restarted under load (IntegrationTests/cluster.py).
cluster-test: deps client-deps
	swift build --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_DEBUG) ./IntegrationTests/cluster.sh test

## bench-cluster: Verify throughput through HAProxy with 1, 2 and 3 nodes (release build).
bench-cluster: deps client-deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) ./IntegrationTests/cluster.sh bench

## soak: SOAK_MINUTES (default 10) of mixed load on one release server.
## Links.Verify (valid, expired, forged) from
## portal-links bench, register / sign-in / refresh from the Python client; throughput, p99, memory and errors
## per minute, then whether memory stayed flat, p99 stable and errors nil (IntegrationTests/soak.py).
soak: deps
	swift build -c release --product portal-links
	PORTAL_LINKS_BIN=$(CURDIR)/$(BIN_RELEASE) SOAK_MINUTES=$(SOAK_MINUTES) $$(./scripts/python-env.sh) IntegrationTests/soak.py

## fuzz: libFuzzer with the address sanitizer, FUZZ_SECONDS (default 60) per target; not part of make test.
## Targets: the frame decoder, the token verifiers, every request handler of a live server and the CSV reader
## (scripts/fuzz.sh).
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

## docs: regenerate docs/cli.md from the command definitions (make test fails when it is stale).
docs: build
	python3 scripts/generate-cli-reference.py $(BIN_DEBUG)

## protos: regenerate the messages from Protos/ for Swift, C and Python.
## Swift with protoc-gen-swift (built once from the swift-protobuf dependency), C (protoc-c) and Python (protoc), and record the checksum of the sources they came from.
protos: deps
	@./scripts/apt-install-missing.sh protobuf-compiler protobuf-c-compiler
	swift package resolve
	[ -x $(PROTOC_GEN_SWIFT) ] || swift build --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc -c release --product protoc-gen-swift
	rm -f $(PROTO_SWIFT_OUT)/*.pb.swift $(PROTO_C_OUT)/portal_links/v1/*.pb-c.[ch] $(PROTO_PYTHON_OUT)/portal_links/v1/*_pb2.py*
	protoc --plugin=protoc-gen-swift=$(PROTOC_GEN_SWIFT) --swift_out=$(PROTO_SWIFT_OUT) \
		--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath -IProtos $(PROTOS)
	protoc --c_out=$(PROTO_C_OUT) -IProtos $(PROTOS)
	protoc --python_out=$(PROTO_PYTHON_OUT) --pyi_out=$(PROTO_PYTHON_OUT) -IProtos $(PROTOS)
	for sums in $(PROTO_SUMS); do sha256sum $(PROTOS) > $$sums; done
	rm -rf $(CONNECT_PYTHON_OUT) && mkdir -p $(CONNECT_PYTHON_OUT)
	protoc -IProtos --python_out=$(CONNECT_PYTHON_OUT) --pyi_out=$(CONNECT_PYTHON_OUT) \
		--plugin=protoc-gen-connect-python=$$(dirname $$(./scripts/python-integration-env.sh))/protoc-gen-connect-python \
		--connect-python_out=$(CONNECT_PYTHON_OUT) $(CONNECT_PROTOS)
	sha256sum $(CONNECT_PROTOS) > $(CONNECT_SUMS)

## check-protos: fail when committed generated code or tables are stale (part of make test).
## Stale means Protos/ changed since the generated code was made (no protoc needed), or the ASCII look-alike table no longer matches Unicode's data (scripts/generate-ascii-lookalikes.py).
check-protos:
	@python3 scripts/generate-ascii-lookalikes.py --check
	@for sums in $(PROTO_SUMS); do \
		sha256sum --quiet -c $$sums && [ "$$(cut -d' ' -f3 $$sums | sort | tr '\n' ' ')" = "$(PROTOS) " ] || \
		{ echo "the generated code beside $$sums is stale: run make protos and commit"; exit 1; }; \
	done
	@sha256sum --quiet -c $(CONNECT_SUMS) && [ "$$(cut -d' ' -f3 $(CONNECT_SUMS) | sort | tr '\n' ' ')" = "$(CONNECT_PROTOS) " ] || \
		{ echo "the generated code beside $(CONNECT_SUMS) is stale: run make protos and commit"; exit 1; }

clean:
	rm -rf .build Clients/c/build .build-python .build-fuzz
