# Makefile of netavark-plugin-gen. `make test` is the test command of this
# repository; CI runs it through .ci/run.

GO      ?= go
BIN     := bin/netavark-plugin-gen
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 30s

# The golden projects: generated, checked in, and built and tested by make test.
GOLDEN_NAME   := demo
GOLDEN_MODULE := example.com/demo
GOLDEN_DIRS   := golden/bridge golden/bridge-docker

.PHONY: all build test vet fuzz clean golden golden-test golden-fuzz template-deps

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/netavark-plugin-gen

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# The check and cmd packages both cycle plugins through setup and teardown in
# network namespaces and compare the host's links before and after; one
# package at a time keeps the other's links out of that comparison.
test: vet golden-test
	$(GO) test -p 1 ./...

# golden regenerates every golden project from the templates, and the schemas.
golden: golden-schema
	rm -rf golden/bridge
	$(GO) run ./cmd/netavark-plugin-gen new $(GOLDEN_NAME) --module $(GOLDEN_MODULE) --dir golden/bridge
	rm -rf golden/bridge-docker
	$(GO) run ./cmd/netavark-plugin-gen new $(GOLDEN_NAME) --module $(GOLDEN_MODULE) --runtimes netavark,docker --dir golden/bridge-docker

# golden-schema regenerates golden/schema, the JSON Schemas exported from
# package types; go test ./golden fails when it is stale.
.PHONY: golden-schema
golden-schema:
	rm -rf golden/schema
	$(GO) run ./cmd/netavark-plugin-gen schema --out golden/schema

# golden-test runs each golden project's own tests, and this repository's
# conformance checker on its plugin: with real setup and teardown in a netns
# as root, and through netavark when NETAVARK names one. The freshness of
# golden/ itself is checked by go test ./golden.
CHECKFLAGS := $(if $(filter 0,$(shell id -u)),--netns) $(if $(NETAVARK),--netavark $(NETAVARK))
golden-test: build
	@for d in $(GOLDEN_DIRS); do echo "== $$d"; \
		$(MAKE) -C $$d test build conformance clean CHECK="$(CURDIR)/$(BIN) check" CHECKFLAGS="$(CHECKFLAGS)" || exit 1; \
	done

# golden-fuzz fuzzes each golden project for FUZZTIME per target.
golden-fuzz:
	@for d in $(GOLDEN_DIRS); do $(MAKE) -C $$d fuzz FUZZTIME=$(FUZZTIME) || exit 1; done

# template-deps refreshes the generated projects' pinned dependencies: it
# tidies golden/bridge and copies its go.mod requirements and go.sum back
# into the template.
template-deps: golden
	cd golden/bridge && $(GO) mod tidy
	cp golden/bridge/go.sum templates/bridge/go.sum
	sed -e 's|^module .*|module {{.Module}}|' -e 's|^go .*|go {{.GoVersion}}|' golden/bridge/go.mod > templates/bridge/go.mod.tmpl
	$(MAKE) golden

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRoundTrip -fuzztime $(FUZZTIME) ./types

clean:
	rm -rf bin
