# The two commands: `make run` and `make test`. Both build what they need.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN      := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server and its schema tool for `make prod-up`: the version the CLI's dev server embeds.
TEMPORAL_SERVER_VERSION := v1.29.1

# Tests find the Temporal CLI here; nothing downloads a binary at run time.
export SECURO_TEMPORAL_BIN := $(BIN)/temporal

.PHONY: run test build bench fuzz lint clean prod-up compose-up compose-down

## run: the whole service on embedded defaults (Temporal dev server + Web UI, SQLite, API, worker)
run: bin/temporal build
	./bin/securo dev

## prod-up: the production topology on this machine, without containers: a Temporal server on
## PostgreSQL (schema by temporal-sql-tool, 4 history shards), `securo api` and two `securo worker`s;
## Ctrl-C stops all. PROD_UP_FLAGS=--help lists its options (PostgreSQL URL, ports, data dir).
prod-up: bin/temporal-server bin/temporal-sql-tool build
	$(GO) build -o bin/securo-prod-up ./cmd/securo-prod-up
	./bin/securo-prod-up $(PROD_UP_FLAGS)

## compose-up / compose-down: the same topology in containers (docker-compose.yml); the first
## compose-up writes .env with a fresh SECURO_ENCRYPTION_KEY
compose-up: build
	test -f .env || (umask 077 && echo "SECURO_ENCRYPTION_KEY=$$(./bin/securo keygen)" > .env)
	docker compose up -d --build

compose-down:
	docker compose down

## build: bin/securo
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/securo ./cmd/securo

## test: every test, against a real Temporal dev server and the local PostgreSQL
test: bin/temporal bin/temporal-server bin/temporal-sql-tool build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

## fuzz: each fuzz target for FUZZTIME (seeds in testdata/fuzz/); go test takes one package and one target at a time
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeStrict$$' -fuzztime $(FUZZTIME) ./api/request
	$(GO) test -run '^$$' -fuzz '^FuzzValidateURL$$' -fuzztime $(FUZZTIME) ./api/request
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./signing

## bench: delivery speed end to end beside this machine's limits (docs/performance.md);
## BENCH_FLAGS=--quick for a short run, SECURO_BENCH_DATABASE_URL=postgres://... to add PostgreSQL
bench: bin/temporal bin/temporal-server bin/temporal-sql-tool build
	$(GO) build -o bin/securo-bench ./cmd/securo-bench
	./bin/securo-bench $(BENCH_FLAGS)

## bin/temporal: the Temporal CLI, built from source (about 3 minutes the first time)
bin/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## bin/temporal-server, bin/temporal-sql-tool: Temporal's server and schema tool from their Go module
## (several minutes the first time); go install names them server and sql, so they are renamed
bin/temporal-server:
	GOBIN=$(BIN)/.install $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.install/server $@

bin/temporal-sql-tool:
	GOBIN=$(BIN)/.install $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.install/sql $@

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin .securo
