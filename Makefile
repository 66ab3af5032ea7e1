# oms-accel: `make run` and `make test` do every set-up step themselves on a
# fresh Debian/Ubuntu machine (system packages, the wasm target, a .venv, the
# build), then run the tour or every test. `make help` lists every target
# from the `## ` comment on its line.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
DIST      := dist
WASM_OUT  := target/wasm32-wasip2/release/oms_accel_guest.wasm
WASM_PKG  := python-host/oms_accel/oms_accel.wasm
# mesa-vulkan-drivers: lavapipe, a Vulkan device on the CPU, for the GPU tests;
# chromium: the browser the demo page is tested in (driven by playwright-core).
APT_PKGS  := xdelta3 zstd libclang-dev python3-venv mesa-vulkan-drivers chromium
# PyO3 builds against the venv's interpreter, whatever python3 is on PATH.
export PYO3_PYTHON := $(abspath $(PY))
# CI builds once from a clean clone: cargo's incremental caches would only
# cost it time and disk (1.3 GB of target/debug), and a full disk failed a run.
ifeq ($(CI),true)
export CARGO_INCREMENTAL := 0
endif

.PHONY: help setup system-deps rust-target venv build run test lint fmt bench cargo-test pytest wheel test-wheel screenshot fuzz clean

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' | awk -F'\t' '{printf "make %-12s %s\n", $$1, $$2}'

setup: system-deps rust-target venv build ## every set-up step (each runs only when needed)

system-deps: ## the Debian packages, installed only when missing (as root, else with sudo)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; \
	  else echo "need root or sudo to install:$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

rust-target: ## rustup's wasm32-wasip2 target
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

$(VENV)/.created:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

venv: $(VENV)/.created ## the virtual environment

# The component: built from guest/ (its .cargo/config.toml turns on simd128)
# and copied into the package as data, with its sha256 pinned beside it
# (the runtime refuses a component that does not match).
$(WASM_PKG): $(shell find guest/src wit -type f) guest/Cargo.toml Cargo.lock
	cd guest && cargo build --release --target wasm32-wasip2
	cp $(WASM_OUT) $@
WASM_PIN := $(WASM_PKG).sha256
$(WASM_PIN): $(WASM_PKG)
	sha256sum $< | cut -d' ' -f1 > $@

# The package, editable, with the native module built by maturin.
$(VENV)/.installed: $(VENV)/.created python-host/pyproject.toml python-host/requirements.lock $(shell find host-native/src codecs/src guest/src/vector -type f) host-native/Cargo.toml codecs/Cargo.toml guest/Cargo.toml Cargo.lock
	$(PIP) install -q -c python-host/requirements.lock -e "python-host[dev]"
	touch $@

# The conformance suites (JSON-Schema-Test-Suite from the pinned jsonschema
# sdist, json-patch-test-suite from npm): fetched, never committed.
CONFORMANCE := tests/data/.fetched
$(CONFORMANCE): tests/fetch_conformance.py python-host/requirements.lock $(VENV)/.created
	$(PY) tests/fetch_conformance.py

# The real delta corpus (consecutive releases of @mdn/browser-compat-data and
# lodash, from npm): fetched, never committed.
CORPUS := tests/data/corpus/.fetched
$(CORPUS): tests/corpus.py $(VENV)/.created
	$(PY) tests/corpus.py

# The JS package (js/): jco (pinned in js/package-lock.json, which `npm ci`
# installs exactly and never rewrites) transpiles the component into
# js/build, and the demo page's inputs are generated into js/demo/data.
# Built, never committed.
JS_DIR    := js
JS_BUILD  := $(JS_DIR)/build/component.js
DEMO_DATA := $(JS_DIR)/demo/data/.made
$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --silent --no-audit --no-fund
	touch $@
$(JS_BUILD): $(WASM_PKG) $(JS_DIR)/scripts/build.mjs $(JS_DIR)/node_modules/.installed
	cd $(JS_DIR) && node scripts/build.mjs
$(DEMO_DATA): $(JS_DIR)/demo/make_data.py python-host/oms_accel/samples.py $(VENV)/.installed
	$(PY) $(JS_DIR)/demo/make_data.py
	touch $@

build: $(WASM_PKG) $(WASM_PIN) $(VENV)/.installed $(CONFORMANCE) $(CORPUS) $(JS_BUILD) $(DEMO_DATA) ## the component, the Python and JS packages, test data

run: setup ## set up, then a short tour: a document history encoded and decoded, embeddings searched
	$(VENV)/bin/oms-accel tour

test: setup lint cargo-test pytest test-wheel ## set up, then lint, cargo test, pytest on every backend, and the wheel's tests

# The dev profile, not --release: with debug assertions and overflow checks
# on, and built in 1m15s where the release profile's LTO and one codegen unit
# took 4m50s from scratch on 2 cores (the tests themselves: 8 s against 1).
cargo-test: ## the guest's logic natively (unit, property and integration tests) and the C codecs' wrappers
	cargo test -p oms-accel-guest -p oms-accel-codecs

# A passed test's tmp_path is removed at once (pytest keeps the last three
# runs' by default: 2.9 GB of vector shards and corpora here).
pytest: ## the Python suite, on every backend and host that loads
	$(PY) -m pytest -o tmp_path_retention_policy=failed tests

# The wheel as users install it: into a fresh venv outside the checkout,
# with the tests run against the installed package (not the source tree).
WHEEL_TESTS := tests/delta tests/json/test_json.py tests/json/test_limits.py tests/vector/test_vectors.py tests/runtime tests/cli
test-wheel: wheel ## install the wheel into a fresh venv outside the checkout and run the tests against it
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	python3 -m venv "$$d/venv"; \
	"$$d/venv/bin/pip" install -q -c python-host/requirements.lock $(DIST)/oms_accel-*.whl numpy pytest hypothesis; \
	"$$d/venv/bin/python" -c "import oms_accel, sys; assert '/site-packages/' in oms_accel.__file__, oms_accel.__file__; print('testing', oms_accel.__file__)"; \
	"$$d/venv/bin/python" -m pytest -q -p no:cacheprovider -o tmp_path_retention_policy=failed $(WHEEL_TESTS)

# The interpreter is the one pip's editable build of $(VENV)/.installed names
# (pip runs as python3): maturin hands it to PyO3's build script, so any
# other made cargo rebuild the whole module (5 minutes) for the same bytes.
wheel: $(WASM_PKG) $(WASM_PIN) $(VENV)/.installed ## dist/: a wheel (component, native module, fallback) and an sdist
	rm -rf $(DIST)
	cd python-host && ../$(VENV)/bin/maturin build --release --quiet --interpreter $(abspath $(VENV))/bin/python3 --out ../$(DIST)
	cd python-host && ../$(VENV)/bin/maturin sdist --out ../$(DIST) 2>&1 | tail -1
	@ls -l $(DIST)

lint: $(VENV)/.installed $(JS_BUILD) ## cargo fmt --check, clippy -D warnings (native and wasm32), ruff, mypy --strict, stubtest, tsc
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p oms-accel-native --features gpu --all-targets -- -D warnings
	cd guest && cargo clippy --release --target wasm32-wasip2 -- -D warnings
	$(VENV)/bin/ruff check python-host tests benches js fuzz
	$(VENV)/bin/ruff format --check python-host tests benches js fuzz
	cd python-host && ../$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest oms_accel._native --mypy-config-file python-host/pyproject.toml
	cd $(JS_DIR) && node_modules/.bin/tsc -p test/tsconfig.json

fmt: venv ## format Rust and Python in place
	cargo fmt --all
	$(VENV)/bin/ruff format python-host tests benches js fuzz
	$(VENV)/bin/ruff check --fix python-host tests benches js fuzz

bench: setup ## the delta, JSON and vector benchmarks beside their peers, the demo page beside Python, cargo bench, and the hostile-input run
	$(PY) benches/rust_vs_python.py
	$(PY) benches/delta_corpus.py
	$(PY) benches/json_bench.py
	$(PY) benches/vector_bench.py
	$(PY) benches/vector_memory.py
	$(PY) benches/js_bench.py
	$(PY) benches/dask_bench.py
	cd guest && cargo bench
	$(PY) benches/hostile.py --cases 3000

# Coverage-guided fuzzing with cargo fuzz (nightly, AddressSanitizer): each
# target of fuzz/ from seeds fuzz/seeds.py makes (never committed), for
# FUZZ_SECONDS each, under an RSS limit; then the pure-Python decoders under
# atheris (fuzz/atheris_targets.py), from the same seeds. The C libraries
# (zstd, xdelta3) are compiled by clang with coverage (fuzz/cc-sancov), so
# that the native targets are guided through them too. vcdiff_roundtrip's
# inputs are capped at 2 KiB: an encode is the costly part, and 2 KiB
# already spans several of the smallest windows. ASan's quarantine is cut from
# 256 to 64 MiB and its allocation stacks to none: with the default, every
# xdelta3 decode zeroed fresh pages (a freed buffer waits out 256 MiB of later
# frees before reuse), 714 executions a second against 28,000 (a crash report
# still has the faulting access's stack; rerun its artifact with the defaults
# for the allocation's). `cargo test` runs the same bodies
# over mutated seeds (guest/ and codecs/tests/fuzz_smoke.rs, and
# tests/fuzz for atheris's), so `make test` keeps them working without the
# nightly build.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := vcdiff_decode vcdiff_roundtrip json_scan json_schema json_patch vector_index_load zstd_delta_decode xdelta3_decode
FUZZ_SECONDS ?= 60
fuzz: setup ## every cargo fuzz target for FUZZ_SECONDS (default 60) each, from seeds made here
	@cargo fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" || cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v clang >/dev/null || $(MAKE) system-deps APT_PKGS=clang
	$(PY) fuzz/seeds.py
	cd fuzz && export CC="$$PWD/cc-sancov" ASAN_OPTIONS=quarantine_size_mb=64:malloc_context_size=0 && for t in $(FUZZ_TARGETS); do \
	  case $$t in json_*) opts="-dict=json.dict";; vcdiff_roundtrip) opts="-max_len=2048";; *) opts="";; esac; \
	  cargo +nightly fuzz run -O $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 $$opts || exit 1; \
	done
	$(PIP) install -q -c python-host/requirements.lock atheris
	@set -e; for pair in vcdiff_decode:vcdiff_decode json_parse:json_scan json_patch:json_patch; do \
	  t=$${pair%%:*}; seeds=fuzz/corpus/$${pair#*:}; mkdir -p fuzz/corpus/py_$$t fuzz/artifacts/py_$$t; \
	  case $$t in json_*) dict="-dict=fuzz/json.dict";; *) dict="";; esac; \
	  echo "atheris: $$t"; \
	  $(PY) fuzz/atheris_targets.py $$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=fuzz/artifacts/py_$$t/ $$dict fuzz/corpus/py_$$t $$seeds; \
	done

SCREENSHOT ?= demo.png
screenshot: setup ## $(SCREENSHOT): the demo page in headless Chromium, with its results
	@d=$$(mktemp -d); node $(JS_DIR)/demo/serve.mjs 0 > "$$d/url" & pid=$$!; trap 'kill $$pid; rm -rf "$$d"' EXIT; \
	for i in $$(seq 100); do [ -s "$$d/url" ] && break; sleep 0.1; done; \
	echo '[{"screenshot": "$(abspath $(SCREENSHOT))"}]' > "$$d/steps.json"; \
	node $(JS_DIR)/test/browser.mjs "$$(head -1 "$$d/url")" "$$d/steps.json" "$$d/out.json"; \
	grep -q '"ready":true' "$$d/out.json" || { echo "the page did not load: $$(cat "$$d/out.json")" >&2; exit 1; }
	@echo "wrote $(SCREENSHOT)"

clean: ## remove every build output
	cargo clean
	rm -rf $(VENV) $(DIST) $(WASM_PKG) $(WASM_PIN) python-host/oms_accel/_native*.so $(JS_DIR)/build $(JS_DIR)/node_modules $(JS_DIR)/demo/data
