GO ?= go
PKGS := ./...

.PHONY: build install test bench bench-go torture workers-30k demo fmt vet fuzz clean

# build and install stamp the module version and commit (whatsend version).
build:
	$(GO) build -buildvcs=true -o bin/whatsend ./cmd/whatsend

install:
	$(GO) install -buildvcs=true ./cmd/whatsend

# test: what CI runs (.ci/run). vet, a gofmt check, then every test.
test: vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -count=1 -timeout 9m $(PKGS)

vet:
	$(GO) vet $(PKGS)

# bench: issue 20's performance table, one line per figure, medians of 3
# (internal/cmd/bench; 26 minutes on 2026-12-06, about 30 with BENCH_10M=1). BENCH_QUICK=1: small sizes, one
# run each (a smoke test); BENCH_10M=1 adds the 10,000,000-row import;
# BENCH_ONLY=import,report runs some rows. Not run by CI.
bench:
	$(GO) run ./internal/cmd/bench

# bench-go: every Go benchmark once (no tests). -p 1: one package at a
# time, so benchmarks do not share the cores (README "Performance").
bench-go:
	$(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

# torture: SIGKILL at random moments while sending at 300 msg/s with faults,
# then resume to the end; nothing may be sent twice or lost. Not run by CI.
# WHATSEND_TORTURE_KILLS=N sets the number of kills (default 50).
torture:
	$(GO) test -tags torture -count=1 -run '^TestTorture$$' -v -timeout 60m ./cmd/whatsend/

# workers-30k: three workers on PostgreSQL, one campaign of 30,000 recipients
# over three numbers, one worker killed (make test runs it with 3,000).
workers-30k:
	WHATSEND_POOL_RECIPIENTS=30000 $(GO) test -count=1 -run '^TestWorkersOnePooledCampaign$$' -v -timeout 30m ./cmd/whatsend/

# fuzz: each fuzzer of the CSV reader for FUZZTIME (default 30s); the seed
# corpora run in make test already.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./campaign/csvimport/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime $(FUZZTIME) ./campaign/csvimport/

# demo: the README's first command, against the built-in simulator. On a
# new number's first day it stops with work left (exit 10): not an error.
demo: build
	@bin/whatsend run testdata/campaign.csv --template order_update --lang en_US --params name,order_id --simulate; \
	rc=$$?; if [ $$rc -eq 10 ]; then echo "demo: exit 10 = stopped with work left (the warm-up's daily allowance), not an error"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin whatsend.db whatsend.db-wal whatsend.db-shm reports
