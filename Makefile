GO      ?= go
BIN     := bin/coredns-coord
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Packages that run goroutines of their own get the race detector in `test`.
PKGS    := ./...

.PHONY: build run short test chaos compat bench fuzz lint clean static release

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/coredns-coord

# A static binary (no cgo, no libc: it runs on scratch or distroless and in
# an empty root) with paths trimmed and the version stamped, for GOOS and
# GOARCH from the environment, into OUT. The Dockerfile and make release
# build with it; packaging's tests check what it builds.
OUT ?= $(BIN)
STATIC_FLAGS := -trimpath -ldflags "-s -w $(LDFLAGS)"
static:
	CGO_ENABLED=0 $(GO) build $(STATIC_FLAGS) -o $(OUT) ./cmd/coredns-coord

# Static binaries for linux/amd64 and linux/arm64 and their SHA-256 sums
# in dist/; the amd64 binary (when this machine can run it) must print
# VERSION.
RELEASE_ARCHES := amd64 arm64
release:
	rm -rf dist && mkdir -p dist
	for arch in $(RELEASE_ARCHES); do \
		GOOS=linux GOARCH=$$arch $(MAKE) --no-print-directory static OUT=dist/coredns-coord-$(VERSION)-linux-$$arch VERSION=$(VERSION) || exit 1; \
	done
	cd dist && sha256sum coredns-coord-* > SHA256SUMS
	if [ "$$(uname -sm)" = "Linux x86_64" ]; then \
		out=$$(dist/coredns-coord-$(VERSION)-linux-amd64 -version) && echo "$$out" | grep -qF -- "$(VERSION)" \
		|| { echo "dist/coredns-coord-$(VERSION)-linux-amd64 -version printed: $$out, not $(VERSION)"; exit 1; }; \
	fi

run: build
	./$(BIN) -conf Corefile.example

# The quick loop, as any user: unit tests and in-process agents, no race
# detector. Tests that need several processes (all of e2e), root or a long
# time skip under -short and say so; make test runs them. About 30 s on 2
# cores with a warm build cache.
short:
	$(GO) test -short $(PKGS)

test: lint
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) compat COMPAT_MIN=169

# The fault suite at length: every fault kind, about five minutes of load
# (make test runs a 75 s slice of it). Partitions need root, unshare and
# iptables; elsewhere they are left out, and the log says so.
CHAOS_DURATION ?= 5m
chaos:
	$(GO) test -run '^TestChaos$$' -v -count=1 -timeout 30m ./e2e/ -args -chaos.duration=$(CHAOS_DURATION)

# The official Go client's own tests (hashicorp/consul/api) against the
# binary, through a stand-in `consul` (compat/): COMPAT_MIN of them must
# pass. 171 of 174 do; make test allows two to fail, the rest is a
# regression.
COMPAT_MIN ?= 0
compat:
	COMPAT_MIN=$(COMPAT_MIN) compat/run.sh

# Go benchmarks of the answer path, the stores, the RPC and replication
# feed, the agent's check sync and definition loading, check runs (and
# 10,000 checks on one agent), lock, KV write, blocking-query fan-out and
# check-failure-to-DNS time against the binary; cluster figures (failover,
# dead client out of DNS, registration to DNS on every agent, KV writes on
# three servers, DNS QPS on a client next to a server's), then dnsperf load
# next to CoreDNS's file plugin (bench/dnsperf.sh).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./plugin/... ./raftstore/... ./rpc/ ./httpapi/... ./agent/... ./definition/
	$(GO) test -run '^$$' -bench 'CheckRun' -benchmem ./checks/
	$(GO) test -run '^$$' -bench 'TenThousandChecks' -benchtime 1x -timeout 10m ./checks/
	$(GO) test -run '^$$' -bench 'FailureDetection' -benchtime 5x ./gossip/
	$(GO) test -run '^$$' -bench 'LockCycle|KVPutDurable16|BlockingFanout' -benchtime 2s -timeout 15m ./e2e/
	$(GO) test -run '^$$' -bench 'CheckFailToDNS' -benchtime 10x -timeout 15m ./e2e/
	$(GO) test -run '^$$' -bench 'ClusterFailover|ClusterDeadClient' -benchtime 5x -timeout 15m ./e2e/
	$(GO) test -run '^$$' -bench 'ClusterRegistrationToDNS|ClusterKVWrite16' -benchtime 300x -timeout 15m ./e2e/
	$(GO) test -run '^$$' -bench 'ClusterDNSQPS' -benchtime 2x -timeout 15m ./e2e/
	bench/dnsperf.sh

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseName$$' -fuzztime $(FUZZTIME) ./plugin/coordcatalog
	$(GO) test -run '^$$' -fuzz '^FuzzSetup$$' -fuzztime $(FUZZTIME) ./plugin/coordcatalog
	$(GO) test -run '^$$' -fuzz '^FuzzParseReverse$$' -fuzztime $(FUZZTIME) ./plugin/coordcatalog
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRegistration$$' -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzQueryOptions$$' -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./definition
	$(GO) test -run '^$$' -fuzz '^FuzzSetup$$' -fuzztime $(FUZZTIME) ./plugin/coordhealth
	$(GO) test -run '^$$' -fuzz '^FuzzServeDNS$$' -fuzztime $(FUZZTIME) ./plugin/coordcatalog
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./acl
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeTxnAndSession$$' -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzKVKeyPath$$' -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzScanTail$$' -fuzztime $(FUZZTIME) ./raftstore
	$(GO) test -run '^$$' -fuzz '^FuzzChecksumTrailer$$' -fuzztime $(FUZZTIME) ./raftstore
	$(GO) test -run '^$$' -fuzz '^FuzzReadArchive$$' -fuzztime $(FUZZTIME) ./raftstore
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCommand$$' -fuzztime $(FUZZTIME) ./raftstore
	$(GO) test -run '^$$' -fuzz '^FuzzRedactedURL$$' -fuzztime $(FUZZTIME) ./httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzLineLevel$$' -fuzztime $(FUZZTIME) ./internal/logging
	$(GO) test -run '^$$' -fuzz '^FuzzLoadPEM$$' -fuzztime $(FUZZTIME) ./internal/tlsutil
	$(GO) test -short -run '^$$' -fuzz '^FuzzMetricNames$$' -fuzztime $(FUZZTIME) ./packaging
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUserEvent$$' -fuzztime $(FUZZTIME) ./gossip

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin dist
