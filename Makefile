# Makefile of netavark-plugin-gen. `make test` is the test command of this
# repository; CI runs it through .ci/run.

GO      ?= go
BIN     := bin/netavark-plugin-gen
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s

.PHONY: all build test vet fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/netavark-plugin-gen

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: vet
	$(GO) test ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRoundTrip -fuzztime $(FUZZTIME) ./types

clean:
	rm -rf bin
