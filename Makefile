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

bench: ## Full benchmark (not yet implemented)
	@echo "bench: not yet implemented"; exit 1

bench-quick: ## Short benchmark (not yet implemented)
	@echo "bench-quick: not yet implemented"; exit 1

clean: ## Remove build output and test caches
	rm -rf bin
	$(GO) clean -testcache
