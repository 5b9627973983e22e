# RedRTC — see README.md. Every target needs only Go (and make).
GO       ?= go
PREFIX   ?= /usr/local
BIN      := build/bin/redrtc
# The version is cmd/redrtc/version.go's; the build is stamped with its commit
# ("-dirty" with uncommitted changes).
COMMIT   ?= $(shell git describe --always --dirty --abbrev=7 --match=no-tag 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.commit=$(COMMIT)
RUNFLAGS ?= --admin-addr 127.0.0.1:9090

.PHONY: release debug run test fuzz bench bench-full bench-cluster bench-bin nats-server lint install clean

release:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/redrtc

debug:
	$(GO) build -race -gcflags 'all=-N -l' -ldflags '-X main.commit=$(COMMIT)' -o $(BIN) ./cmd/redrtc

# --demo serves the call page; the server prints its address.
run: release
	@echo "make run: admin listener (metrics, readiness, admin API) on 127.0.0.1:9090; RUNFLAGS= turns it off"
	./$(BIN) --demo $(RUNFLAGS)

# The race detector needs cgo, that is a C compiler; without one the tests
# still run, and say so.
RACE := $(if $(filter 1,$(shell $(GO) env CGO_ENABLED 2>/dev/null)),-race,)

# The allocation tests run a second time without the race detector, whose
# instrumentation moves some values to the heap. A test skipped for want of a
# tool (Chromium, nginx) adds a line to SKIPLOG (testkit.RequireTool); go test
# shows a passing package's skips only under -v, so the list is printed last,
# whether the tests passed or not.
SKIPLOG := build/skipped.txt
test: export REDRTC_SKIP_LOG := $(CURDIR)/$(SKIPLOG)
test:
	@[ -n "$(RACE)" ] || echo "make test: no C compiler, so no race detector (apt-get install gcc)" >&2
	@mkdir -p $(dir $(SKIPLOG)) && : > $(SKIPLOG)
	@if command -v npm >/dev/null 2>&1 && [ ! -d clients/js/node_modules ]; then (cd clients/js && npm ci --no-audit --no-fund) || echo "make test: npm ci in clients/js failed; the SDK's dev dependencies are missing" >&2; fi
	$(GO) test $(RACE) -count=1 ./... || { cat $(SKIPLOG); exit 1; }
	$(GO) -C bench test $(RACE) -count=1 ./... || { cat $(SKIPLOG); exit 1; }
	$(if $(RACE),$(GO) test -count=1 -run 'DoesNotAllocate' ./... || { cat $(SKIPLOG); exit 1; })
	@cat $(SKIPLOG)

# A short coverage-guided run of every fuzz target (FUZZTIME each).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./proto -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto -run '^$$' -fuzz '^FuzzScan$$' -fuzztime $(FUZZTIME)
	$(GO) test ./loop -run '^$$' -fuzz '^FuzzFrames$$' -fuzztime $(FUZZTIME)
	$(GO) test ./loop -run '^$$' -fuzz '^FuzzHandshake$$' -fuzztime $(FUZZTIME)
	$(GO) test ./loop -run '^$$' -fuzz '^FuzzRequestInPieces$$' -fuzztime $(FUZZTIME)
	$(GO) test ./loop -run '^$$' -fuzz '^FuzzFastUpgradeAgreesWithGobwas$$' -fuzztime $(FUZZTIME)
	$(GO) test ./admin -run '^$$' -fuzz '^FuzzAdminRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./loop -run '^$$' -fuzz '^FuzzUpgradeToken$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto -run '^$$' -fuzz '^FuzzAppendRoomJoinedICE$$' -fuzztime $(FUZZTIME)
	$(GO) test ./auth -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cluster -run '^$$' -fuzz '^FuzzRecords$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cluster -run '^$$' -fuzz '^FuzzDecodeRoom$$' -fuzztime $(FUZZTIME)

# Load benchmarks: RedRTC against the goroutine-per-connection baseline in
# bench/servers/baseline, up to this machine's open-files ceiling (under 5
# minutes), or at 65,536 clients where the limits allow. See bench/README.md.
# The bench is a module of its own (bench/go.mod); it runs from here, so
# that relative paths in BENCHFLAGS (-redrtc, -compare, -out) are relative
# to the repository's root.
BENCHFLAGS ?=
BENCHBIN   := build/bin/bench
bench-bin:
	$(GO) -C bench build -o $(CURDIR)/$(BENCHBIN) .

bench: bench-bin
	./$(BENCHBIN) $(BENCHFLAGS)

bench-full: bench-bin
	./$(BENCHBIN) -full $(BENCHFLAGS)

# A real NATS server for the cluster's tests and make bench-cluster
# (docs/cluster.md): the release whose module the unit tests embed (go.mod's
# github.com/nats-io/nats-server/v2), built from the module proxy, so that
# nothing but Go is needed. Built once; kept while it reports this version.
NATS_SERVER_VERSION := v2.15.3
NATS_SERVER         := build/bin/nats-server
nats-server:
	@if [ -x $(NATS_SERVER) ] && [ "$$(./$(NATS_SERVER) --version 2>/dev/null)" = "nats-server: $(NATS_SERVER_VERSION)" ]; then \
		echo "make nats-server: $(NATS_SERVER) is $(NATS_SERVER_VERSION) already"; \
	else \
		set -x; GOBIN=$(CURDIR)/build/bin CGO_ENABLED=0 $(GO) install -trimpath github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION); \
	fi

# RedRTC as a cluster on this machine: 4 nodes (-cluster N in BENCHFLAGS
# for another count) sharing one nats-server (build/bin/nats-server, from
# make nats-server), 65,536 clients spread over them round-robin, each node
# under the per-process open-files limit. See bench/README.md.
bench-cluster: bench-bin nats-server
	./$(BENCHBIN) -cluster 4 $(BENCHFLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C bench vet ./...

install: release
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/redrtc

clean:
	rm -rf build
