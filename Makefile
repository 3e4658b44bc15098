# tokensync developer tasks. `make` alone lists them.

GO       ?= go
BIN      := bin/tokensync
FUZZTIME ?= 30s

.DEFAULT_GOAL := help

.PHONY: help build test run fuzz vet tidy bench bench-quick clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## .*$$' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

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

clean: ## Remove build output and test caches
	rm -rf bin
	$(GO) clean -testcache
