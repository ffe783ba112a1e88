# nvrguard — build, test and cross-compile. `make help` lists the targets.
GO      ?= go
BIN     := bin
PKG     := ./firmware
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
RUN_ARGS ?= run --led console --state-dir $(BIN)/state --interval 1m
FUZZTIME ?= 60s

NFPM    ?= go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# A release tag v1.2.3 gives 1.2.3; otherwise 0.0.0~git<commit>.
DEBVERSION ?= $(patsubst v%,%,$(shell git describe --tags --match 'v[0-9]*' 2>/dev/null))
ifeq ($(DEBVERSION),)
DEBVERSION := 0.0.0~git$(COMMIT)
endif

.PHONY: help build deps test check cross run fuzz test-arm bench deb clean

help:
	@echo "make build     build bin/nvrguard for this machine"
	@echo "make run       build and run the daemon: embedded broker, console LED, sweeps of the local network (Ctrl-C stops it)"
	@echo "make test      installs what the tests need (as root, with apt-get), gofmt/vet/staticcheck, then every test with -race"
	@echo "               (as root it also runs the namespace LAN test, which adds veth links in this machine's namespace)"
	@echo "make deps      only the first step of make test: the tools of scripts/test-deps.txt"
	@echo "make check     gofmt, go vet, staticcheck"
	@echo "make cross     static ARM binaries: linux/arm GOARM=6, GOARM=7, linux/arm64"
	@echo "make test-arm  the policy and parser tests as ARM binaries under qemu-user"
	@echo "make fuzz      every fuzzer for FUZZTIME=$(FUZZTIME) each"
	@echo "make bench     benchmarks"
	@echo "make deb       .deb packages for armhf (ARMv6), arm64 and amd64 in $(BIN)/ (scripts/test-deb.sh checks them)"

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/nvrguard $(PKG)

# run builds with progress (scripts/build.sh), then says what it starts.
run:
	@GO=$(GO) scripts/build.sh $(BIN)/nvrguard $(PKG) -trimpath -ldflags '$(LDFLAGS)'
	@mkdir -p $(BIN)/state
	@echo "run: $(BIN)/nvrguard $(RUN_ARGS)"
	@$(BIN)/nvrguard $(RUN_ARGS); s=$$?; [ $$s -eq 0 ] || [ $$s -eq 3 ]

check:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt -s would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# deps: the tools of scripts/test-deps.txt; installed with apt-get when
# root, else one line naming what is missing.
deps:
	@GO=$(GO) scripts/deps.sh ensure

test: deps
	@$(MAKE) --no-print-directory check
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

deb: cross
	rm -f $(BIN)/nvrguard_*.deb
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/nvrguard-linux-amd64 $(PKG)
	@set -e; for t in armhf:armv6 arm64:arm64 amd64:amd64; do \
	  a=$${t%%:*}; b=$${t#*:}; \
	  mkdir -p $(BIN)/deb; cp $(BIN)/nvrguard-linux-$$b $(BIN)/deb/nvrguard; \
	  NVRGUARD_ARCH=$$a NVRGUARD_VERSION=$(DEBVERSION) \
	    $(NFPM) package --config scripts/packaging/nfpm.yaml --packager deb --target $(BIN)/nvrguard_$(DEBVERSION)_$$a.deb; \
	done

clean:
	rm -rf $(BIN)
