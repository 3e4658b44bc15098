# tokensync developer tasks. `make` alone lists them.

GO       ?= go
BIN      := bin/tokensync
FUZZTIME ?= 30s

.DEFAULT_GOAL := help

.PHONY: help build test run fuzz vet tidy bench bench-quick bench-cluster clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## .*$$' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

build: ## Build bin/tokensync
	$(GO) build -o $(BIN) ./cmd/tokensync

test: ## Run all tests with the race detector (needs local PostgreSQL and Redis)
	$(GO) test -race -count=1 -timeout 10m ./...

run: ## Quick start: migrate, then run a synthetic producer and a consumer
	./scripts/run.sh

fuzz: ## Fuzz the event decoder for FUZZTIME (default 30s)
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./event

vet: ## Run go vet and fail if any file needs gofmt
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi

tidy: ## Tidy go.mod and go.sum
	$(GO) mod tidy

# The benchmark works in its own database (tokensync_bench, dropped at the end)
# on the server of TOKENSYNC_DATABASE_URL, and in Redis keys under
# tokensync-bench:. BENCH_FLAGS adds flags, e.g. BENCH_FLAGS="--scenarios drain".
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tokensync?sslmode=disable
BENCH_FLAGS ?=

bench: build ## Benchmark every scenario (a few minutes); JSON and CPU profiles in bench-results/
	TOKENSYNC_DATABASE_URL="$${TOKENSYNC_DATABASE_URL:-$(BENCH_DATABASE_URL)}" ./$(BIN) bench --cpuprofile-dir bench-results/profiles $(BENCH_FLAGS)

bench-quick: build ## Short benchmark of every scenario (under a minute)
	TOKENSYNC_DATABASE_URL="$${TOKENSYNC_DATABASE_URL:-$(BENCH_DATABASE_URL)}" ./$(BIN) bench --quick $(BENCH_FLAGS)

# bench-cluster starts a local 3-master Redis Cluster of the machine's
# redis-server (scripts/redis-cluster.sh, ports BENCH_CLUSTER_PORT to +2 and
# their cluster-bus ports +10000) in a temporary directory, drains the same
# workload on the single server of TOKENSYNC_REDIS_URL and on the cluster, and
# stops the cluster again, also when the bench fails or is interrupted.
BENCH_CLUSTER_PORT ?= 7000

bench-cluster: build ## Drain on one Redis node against a local 3-node Redis Cluster (about two minutes)
	@dir="$$(mktemp -d)"; \
	cleanup() { ./scripts/redis-cluster.sh stop "$$dir"; rm -rf "$$dir"; }; \
	trap cleanup EXIT; trap 'exit 130' INT TERM; \
	url="$$(./scripts/redis-cluster.sh start "$$dir" $(BENCH_CLUSTER_PORT))" || exit 1; \
	echo "./$(BIN) bench --scenarios drain --cluster $$url $(BENCH_FLAGS)"; \
	TOKENSYNC_DATABASE_URL="$${TOKENSYNC_DATABASE_URL:-$(BENCH_DATABASE_URL)}" ./$(BIN) bench --scenarios drain --cluster "$$url" $(BENCH_FLAGS)

clean: ## Remove build output and test caches
	rm -rf bin
	$(GO) clean -testcache
