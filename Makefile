# SPDX-License-Identifier: Apache-2.0
# The Makefile is the project's interface: CI runs `.ci/run`, which runs `make check test`.

GO ?= go
WASM := build/credgate.wasm
# A negative-control module without allocation pinning, used only by tests.
WASM_UNPINNED := build/credgate-unpinned.wasm
# Negative-control modules without the collector guard, or with its watchdog
# only, used only by tests.
WASM_UNGUARDED := build/credgate-unguarded.wasm
WASM_WATCHDOG := build/credgate-watchdog-only.wasm
# The benchmarks' floor: a bare module on the same SDK and pipeline (plugin/floor).
WASM_FLOOR := build/floor.wasm
WASM_SOURCES := $(shell find plugin \( -name '*.go' -o -name '*.s' \) -not -name '*_test.go' -not -path 'plugin/floor/*') plugin/sdkabi/*.go scripts/build-wasm.sh go.mod go.sum
FUZZTIME ?= 10s
# Test flags: -race costs a lot on two cores for the wazero suites, so it is opt-in.
TESTFLAGS ?= -shuffle=on -count=1 -timeout=20m

.PHONY: all build wasm tokencluster test test-race check bench fuzz soak feed-sim mutants clean run e2e

all: build

build: wasm tokencluster

wasm: $(WASM)

$(WASM): $(WASM_SOURCES)
	@mkdir -p build
	./scripts/build-wasm.sh $(WASM)

$(WASM_UNPINNED): $(WASM_SOURCES) $(WASM)
	./scripts/build-wasm.sh $(WASM_UNPINNED) --unpinned

$(WASM_UNGUARDED): $(WASM_SOURCES) $(WASM)
	./scripts/build-wasm.sh $(WASM_UNGUARDED) --unguarded

$(WASM_WATCHDOG): $(WASM_SOURCES) $(WASM)
	./scripts/build-wasm.sh $(WASM_WATCHDOG) --watchdog-only

$(WASM_FLOOR): plugin/floor/*.go plugin/sdkabi/*.go scripts/build-wasm.sh go.mod go.sum $(WASM)
	./scripts/build-wasm.sh $(WASM_FLOOR) --floor

tokencluster:
	@mkdir -p build
	@if [ -f tokencluster/main.go ]; then \
		echo "build: build/tokencluster"; \
		CGO_ENABLED=0 $(GO) build -trimpath -o build/tokencluster ./tokencluster; \
	fi

# test builds the wasm first: plugin and host tests load the real build/credgate.wasm.
# Suites whose tool is missing skip: say so before and after, loudly.
test: $(WASM) $(WASM_UNPINNED) $(WASM_UNGUARDED) $(WASM_WATCHDOG)
	@./scripts/test-tools.sh
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...
	@./scripts/test-tools.sh

test-race: $(WASM)
	$(GO) test -race $(TESTFLAGS) ./...

# check fails when formatting or go.mod would change.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff

# bench runs every benchmark that writes BENCHMARKS.md in one run (floor
# module, no-op route and each scheme side by side, the tail over 100,000
# requests per row, the token cluster in process and under load from another
# process) and notes the machine's load; about 8 minutes on 2 busy cores.
# BENCH_FLAGS=-quick sends 10,000 requests per tail row.
BENCH_FLAGS ?=
bench: $(WASM) $(WASM_FLOOR) $(WASM_UNGUARDED) tokencluster
	$(GO) run ./scripts/bench $(BENCH_FLAGS)

# soak sends SOAK_REQUESTS requests per profile (every scheme, hits and
# misses, small and large headers, 2 VMs) and fails if a VM's memory grows
# more than 10% after the warm-up or any VM traps; it prints memory every 50k
# requests and, for a full run, writes BENCHMARKS.md. Not part of `make test`.
SOAK_REQUESTS ?= 1000000
soak: $(WASM) tokencluster
	CREDGATE_SOAK_REQUESTS=$(SOAK_REQUESTS) $(GO) test -run '^TestSoak$$' -v -count=1 -timeout=90m ./plugin/

# feed-sim runs 1,000 and 10,000 simulated plugin VMs against one token
# cluster process on loopback, with short polls (the plugin before
# long-polls) and with long-polls; it prints progress and writes the idle
# calls/s, the cluster's CPU and the revocation latency to BENCHMARKS.md.
# About 5 minutes. Not part of `make test` (which runs a 200-VM version).
feed-sim:
	CREDGATE_FEEDSIM=1 $(GO) test -run '^TestFeedSim$$' -v -count=1 -timeout=30m ./internal/feedsim/

# mutants applies each listed mutant of the security core
# (scripts/mutants/mutants.jsonl) and requires the tests to kill it. Not part
# of `make test` (a few minutes).
mutants:
	$(GO) run ./scripts/mutants

# fuzz runs every Fuzz target for FUZZTIME each (CI runs them briefly; run longer locally).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# run serves the demo on :10000 (Envoy in Docker when an engine is reachable,
# otherwise the embedded gateway), seeds demo credentials and prints curls.
# run checks its ports first, then builds what is missing with progress lines.
run:
	./scripts/run.sh

# e2e runs the end-to-end table against real Envoy in docker compose; without
# a Docker engine it says so and exits 0. `make test` runs the same table on
# the embedded gateway.
e2e: build
	./scripts/e2e-compose.sh

clean:
	rm -rf build
