# kanikorun: build, test and measure. `make test` is the test command CI runs.
GO            ?= go
BIN           := bin/kanikorun
# Tools are pinned; `go run pkg@version` fetches them through the module proxy.
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 20m
FUZZTIME      ?=
BENCH_RUNS    ?= 9
# urfave/cli's man-page generator (and its markdown library) would only
# add start-up time to every command.
BUILD_TAGS    := urfave_cli_no_docs
# `kanikorun --version`: the checkout's tag or commit (-dirty with local
# changes).
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test fuzz-short fuzz check fmt vet staticcheck tidy demo bench bench-cache bench-cluster kube-binaries chaos clean

all: build

build:
	$(GO) build -tags $(BUILD_TAGS) -ldflags '-X main.version=$(VERSION)' -o $(BIN) ./cmd/kanikorun

# Unit and integration tests (the latter against the real Docker daemon;
# they fail when CI is set and the daemon is missing, and skip otherwise).
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# Fuzzing, seeded from testdata/. CI runs the short run: each target for a
# number of executions (about 20 s each on our 2-core machines), not for a
# duration: go1.26's fuzz coordinator can fail a duration-bounded run with
# a bare "context deadline exceeded" when a loaded machine starves its
# workers at the deadline (golang/go#75804, fixed in go1.27), and no input
# is at fault. FUZZTIME=<duration or Nx> overrides every target's budget;
# `make fuzz` is the long run (10 minutes each).
FUZZ_TARGETS := FuzzLint:./internal/lint:30000 FuzzDockerConfig:./creds:100000 FuzzHelperOutput:./creds:100000 \
                FuzzReplayManifest:./internal/kube:5000 FuzzStatus:./internal/kube:5000
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; budget=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}x); \
		echo "--- $$name ($$budget)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$budget $$pkg; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=10m

# The chaos test: CHAOS_BUILDS builds against the real daemon, broken by
# signals, executor kills and registry faults, then gc and a count of what
# is left. `make test` runs a short round of 20.
CHAOS_BUILDS  ?= 200
chaos:
	KANIKORUN_CHAOS_BUILDS=$(CHAOS_BUILDS) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 30m ./internal/testbed/chaos

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# go.mod and go.sum must already be tidy; this changes nothing.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum not tidy: run go mod tidy"; exit 1; }

check: fmt vet staticcheck tidy test

# Build kanikorun and run it on the sample with the pinned executor, loading
# the result into the local daemon. Where the executor image cannot be
# pulled it stops with the one-line pull error.
demo: build
	./$(BIN) build --load testdata/sample

# Wall time of `kanikorun build` against `docker run --rm` of the same
# stand-in image and arguments: median of BENCH_RUNS, printed as a ratio.
bench:
	$(GO) run ./internal/testbed/bench -runs $(BENCH_RUNS) -tags $(BUILD_TAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/lint
	$(GO) test -run '^$$' -bench BenchmarkCommandLine -benchmem ./cmd/kanikorun

# The local loop of issue 17: cache warm/cold, stream-mode context
# throughput, bind-mode context size, RSS under heavy logs, overhead by
# network mode.
bench-cache:
	$(GO) run ./internal/testbed/benchcache -runs 5
	$(GO) test -run '^$$' -bench BenchmarkWrite -benchtime 20x -cpu 1,2 ./internal/ctxtar

# The Kubernetes binaries of the cluster tests, built once into the user
# cache directory (about 9 min on 2 cores; a no-op when present).
kube-binaries:
	bash internal/testbed/kubenode/tools/build.sh

# The cluster backend on the test node: submit until the Job exists,
# submit --wait against kubectl apply + kubectl wait, first log line,
# 100 MB upload.
bench-cluster: kube-binaries
	BENCH_RUNS=$(BENCH_RUNS) KANIKORUN_BENCH_CLUSTER=1 KANIKORUN_TEST_KEEP_STANDINS=1 $(GO) test -count=1 -v -run '^TestClusterBench$$' ./cmd/kanikorun

clean:
	rm -rf bin
