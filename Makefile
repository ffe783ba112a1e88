# nvrguard — build, test and cross-compile. `make help` lists the targets.
GO      ?= go
BIN     := bin
PKG     := ./firmware
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
RUN_ARGS ?= scan --timeout 6s
FUZZTIME ?= 60s

.PHONY: help build test check cross run fuzz test-arm bench clean

help:
	@echo "make build     build bin/nvrguard for this machine"
	@echo "make run       build and run one scan of the local network (RUN_ARGS='$(RUN_ARGS)')"
	@echo "make test      gofmt/vet/staticcheck, then every test with -race (root runs the namespace LAN test)"
	@echo "make check     gofmt, go vet, staticcheck"
	@echo "make cross     static ARM binaries: linux/arm GOARM=6, GOARM=7, linux/arm64"
	@echo "make test-arm  the policy and parser tests as ARM binaries under qemu-user"
	@echo "make fuzz      every fuzzer for FUZZTIME=$(FUZZTIME) each"
	@echo "make bench     benchmarks"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/nvrguard $(PKG)

run: build
	@$(BIN)/nvrguard $(RUN_ARGS); s=$$?; [ $$s -eq 0 ] || [ $$s -eq 3 ]

check:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

test: check
	$(GO) test -race -count=1 ./...

cross:
	@set -e; for t in arm:6:armv6 arm:7:armv7 arm64::arm64; do \
	  a=$${t%%:*}; r=$${t#*:}; v=$${r%%:*}; n=$${r#*:}; \
	  echo "build $(BIN)/nvrguard-linux-$$n"; \
	  GOOS=linux GOARCH=$$a GOARM=$$v CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o $(BIN)/nvrguard-linux-$$n $(PKG); \
	done
	@ls -l $(BIN)/nvrguard-linux-*

test-arm:
	scripts/test-arm.sh

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf $(BIN)
