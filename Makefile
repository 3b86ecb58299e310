# The two commands: `make run` and `make test`. Both build what they need.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN      := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1

# Tests find the Temporal CLI here; nothing downloads a binary at run time.
export SECURO_TEMPORAL_BIN := $(BIN)/temporal

.PHONY: run test build bench fuzz lint clean

## run: the whole service on embedded defaults (Temporal dev server + Web UI, SQLite, API, worker)
run: bin/temporal build
	./bin/securo dev

## build: bin/securo
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/securo ./cmd/securo

## test: every test, against a real Temporal dev server and the local PostgreSQL
test: bin/temporal build
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
bench: bin/temporal build
	$(GO) build -o bin/securo-bench ./cmd/securo-bench
	./bin/securo-bench $(BENCH_FLAGS)

## bin/temporal: the Temporal CLI, built from source (about 3 minutes the first time)
bin/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin .securo
