# voipd — see README.md. `make run` and `make test` do all the set-up on a
# fresh Debian 12 machine (scripts/deps.sh installs what is missing).
SHELL     := /bin/bash
GO        ?= go
BIN       := bin
PROGRAMS  := voipd voipctl roomd
# Per test binary. cmd/voipd's real-time echo tests may wait for the ARM
# emulation test (internal/testlock: they never overlap), about 10 min.
TEST_TIMEOUT ?= 30m

.PHONY: all deps cross-deps livekit livekit-client axe-core build run test lint bench screenshots soak fuzz deb clean

all: build

deps:
	@scripts/deps.sh

cross-deps:
	@scripts/cross-deps.sh arm64 armhf

# LiveKit's browser client, embedded in roomd's gateway (npm's livekit-client,
# fetched once into a cache outside the repository; scripts/livekit-client.sh).
livekit-client: deps
	@scripts/livekit-client.sh

# axe-core, the accessibility checker the browser tests run in Chromium
# (npm's axe-core, fetched once into the same cache; scripts/axe-core.sh).
axe-core: deps
	@scripts/axe-core.sh

# The LiveKit server the gateway tests run, built once into a cache outside
# the repository (scripts/livekit.sh; about 2 minutes the first time).
livekit: deps
	@scripts/livekit.sh >/dev/null

build: deps livekit-client
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

# A room on the embedded room server, joined by the daemon, with a URL a
# person opens in a browser to join too. Ctrl-C (or SIGTERM) leaves and exits.
run: build
	@scripts/run.sh

# The last line checks macOS as far as this machine can without its SDK,
# for arm64 and amd64: every package's build constraints resolve there with
# cgo, go vet runs over every package that needs no cgo, and the rest are
# type-checked with C's names faked (internal/crosscheck says how, and what
# that leaves unproven). It runs the same $(GO).
lint: deps
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./daemon/... ./media/ ./proto/... ./room/... ./roomd/...
	$(GO) test -count=1 ./internal/archtest/
	GO=$(GO) $(GO) run ./internal/crosscheck -goos darwin -goarch arm64,amd64

# The packages whose tests also run under the race detector: the control
# surface, the session engine and its neighbours, media's contract.
RACE_PKGS := ./daemon/... ./media/

# Every test, then the race run (its packages marked "(-race)"), with one
# closing summary of what ran (internal/testsum).
# The ARM toolchains and qemu for packaging's cross-build and emulation
# tests (scripts/cross-deps.sh), and the LiveKit server for the gateway's
# (scripts/livekit.sh); make run needs neither.
test: livekit-client axe-core lint build cross-deps livekit
	@set -o pipefail; { $(GO) test -json -count=1 -timeout $(TEST_TIMEOUT) ./...; \
	  $(GO) test -race -json -count=1 -timeout $(TEST_TIMEOUT) $(RACE_PKGS) | sed -E 's/"Package":"([^"]*)"/"Package":"\1 (-race)"/g'; } \
	  | $(GO) run ./internal/testsum

bench: build
	@scripts/bench.sh

# The browser page's main screens at a phone's and a desktop's size, as PNGs
# in dist/screenshots for a person to look at (roomd's TestBrowserScreens;
# a Chinese font so the Chinese screens show characters); three of them are
# kept in docs/ for the README.
screenshots: deps
	@scripts/ensure-packages.sh screenshots fonts-wqy-microhei
	VOIPD_SCREENSHOTS=$(CURDIR)/dist/screenshots $(GO) test -count=1 -run '^TestBrowserScreens$$' ./roomd/
	cp dist/screenshots/room-phone.png docs/screen-phone.png
	cp dist/screenshots/room-desktop.png docs/screen-desktop.png
	cp dist/screenshots/incoming-phone.png docs/screen-incoming-phone.png
	@echo "screenshots: dist/screenshots/*.png; docs/screen-phone.png, docs/screen-desktop.png and docs/screen-incoming-phone.png updated"

# 1,000 join/leave cycles of a voice and of a video room, 1,000 calls rung,
# answered and hung up, and 10,000 member joins on a roomd, each process's
# goroutines, descriptors, resident memory and live heap sampled every
# tenth of the way (make test runs the same with 40 cycles).
SOAK_CYCLES ?= 1000
soak: deps
	VOIPD_SOAK_CYCLES=$(SOAK_CYCLES) $(GO) test -count=1 -timeout 60m -run '^TestSoak' -v ./cmd/voipd

# Every fuzz target (Go's native fuzzing), one after another, FUZZTIME each
# (default 60s; NNNx for a number of executions); a failing input is kept
# in the package's testdata/fuzz and fails the run (scripts/fuzz.sh).
fuzz: deps
	@GO=$(GO) scripts/fuzz.sh

# Debian packages of voipd and roomd for amd64, arm64 and armhf into dist/
# (packaging/README.md). The ARM builds go through Debian's cross toolchain,
# which scripts/cross-deps.sh installs when missing.
DEB_ARCHS ?= amd64 arm64 armhf
deb: deps livekit-client
	@scripts/cross-deps.sh $(filter-out amd64,$(DEB_ARCHS))
	@for a in $(DEB_ARCHS); do packaging/deb/build.sh $$a dist || exit 1; done

clean:
	rm -rf $(BIN)
