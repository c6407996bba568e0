# Makefile of netavark-plugin-gen. `make test` is the test command of this
# repository; CI runs it through .ci/run.

GO      ?= go
BIN     := bin/netavark-plugin-gen
# The version and commit that `netavark-plugin-gen version` reports, and
# that generated projects pin their conformance checker at, come from the
# Go toolchain's VCS stamp (-buildvcs=auto overrides a GOFLAGS that turns it
# off): the tag, or a pseudo-version of the commit.
BUILDFLAGS := -trimpath -buildvcs=auto
FUZZTIME ?= 30s

# The golden projects: the trees under golden/ that have a Makefile. Which
# trees there are, and how each is generated, is listed once, in
# golden/golden_test.go.
GOLDEN_DIRS := $(patsubst %/Makefile,%,$(wildcard golden/*/Makefile))

.PHONY: all build install test vet fuzz clean golden golden-test golden-fuzz template-deps

all: build

build:
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $(BIN) ./cmd/netavark-plugin-gen

# install installs netavark-plugin-gen into GOBIN (default ~/go/bin).
install:
	CGO_ENABLED=0 $(GO) install $(BUILDFLAGS) ./cmd/netavark-plugin-gen

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^golden/'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# The check and cmd packages both cycle plugins through setup and teardown in
# network namespaces and compare the host's links before and after; one
# package at a time keeps the other's links out of that comparison.
test: vet golden-test
	$(GO) test -p 1 ./...

# golden rewrites every golden tree from the templates and the types: the
# projects and the schemas. go test ./golden fails when one is stale.
golden:
	$(GO) test ./golden -run '^TestGolden$$' -update

# golden-test runs each golden project's own tests, and this repository's
# conformance checker on its plugin: with real setup and teardown in a netns
# as root, and through netavark when NETAVARK names one. The freshness of
# golden/ itself is checked by go test ./golden.
CHECKFLAGS := $(if $(filter 0,$(shell id -u)),--netns) $(if $(NETAVARK),--netavark $(NETAVARK))
golden-test: build
	@for d in $(GOLDEN_DIRS); do echo "== $$d"; \
		$(MAKE) -C $$d test build conformance clean CHECK="$(CURDIR)/$(BIN)" CHECKFLAGS="$(CHECKFLAGS)" || exit 1; \
	done

# golden-fuzz fuzzes each golden project for FUZZTIME per target.
golden-fuzz:
	@for d in $(GOLDEN_DIRS); do $(MAKE) -C $$d fuzz FUZZTIME=$(FUZZTIME) || exit 1; done

# template-deps refreshes the generated projects' pinned dependencies: it
# tidies golden/bridge, golden/bridge-all and golden/vxlan (whose go.mod and
# go.sum are the vxlan template's own) and writes their go.mod and
# go.sum back into the template, the lines that only golden/bridge-all has
# inside {{if .CNI}}: the CNI front end is the one with dependencies of its
# own, and a project without it gets exactly the go.mod and go.sum that go
# mod tidy gives it. (A front end that adds dependencies too needs a golden
# project of its own here.)
template-deps: golden
	cd golden/bridge && $(GO) mod tidy
	cd golden/bridge-all && $(GO) mod tidy
	mkdir -p bin
	for f in go.mod go.sum; do \
		for d in bridge bridge-all; do \
			sed -e 's|^module .*|module {{.Module}}|' -e 's|^go .*|go {{.GoVersion}}|' golden/$$d/$$f > bin/$$d.$$f || exit 1; \
		done; \
		awk '$(CNI_OVERLAY)' bin/bridge.$$f bin/bridge-all.$$f > templates/bridge/$$f.tmpl || exit 1; \
	done
	cd golden/vxlan && $(GO) mod tidy
	for f in go.mod go.sum; do \
		sed -e 's|^module .*|module {{.Module}}|' -e 's|^go .*|go {{.GoVersion}}|' golden/vxlan/$$f > templates/vxlan/$$f.tmpl || exit 1; \
	done
	$(MAKE) golden

# CNI_OVERLAY is an awk program that reads two files, the second holding
# every line of the first in the same order, and writes the second as a
# template that renders the first without .CNI: each run of lines that only
# the second has is wrapped in {{if .CNI}}...{{end}}.
CNI_OVERLAY := NR == FNR { base[++n] = $$0; next } \
	i < n && $$0 == base[i + 1] { if (open) printf "{{end}}"; open = 0; print; i++; next } \
	{ if (!open) printf "{{if .CNI}}"; open = 1; print } \
	END { if (open) printf "{{end}}"; if (i < n) { print "not in the CNI project: " base[i + 1] > "/dev/stderr"; exit 1 } }

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRoundTrip -fuzztime $(FUZZTIME) ./types

clean:
	rm -rf bin
