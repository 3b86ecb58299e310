# The two commands: `make run` and `make test`. Both build what they need.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN      := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1

# Tests find the Temporal CLI here; nothing downloads a binary at run time.
export SECURO_TEMPORAL_BIN := $(BIN)/temporal

.PHONY: run test build lint clean

## run: the whole service on embedded defaults (Temporal dev server + Web UI, SQLite, API, worker)
run: bin/temporal build
	./bin/securo dev

## build: bin/securo
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/securo ./cmd/securo

## test: every test, against a real Temporal dev server and the local PostgreSQL
test: bin/temporal
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

## bin/temporal: the Temporal CLI, built from source (about 3 minutes the first time)
bin/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin .securo
