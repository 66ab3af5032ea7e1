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
# mesa-vulkan-drivers: lavapipe, a Vulkan device on the CPU, for the GPU tests.
APT_PKGS  := xdelta3 zstd libclang-dev python3-venv mesa-vulkan-drivers
# PyO3 builds against the venv's interpreter, whatever python3 is on PATH.
export PYO3_PYTHON := $(abspath $(PY))

.PHONY: help setup system-deps rust-target venv build run test lint fmt bench cargo-test pytest wheel test-wheel clean

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
# and copied into the package as data.
$(WASM_PKG): $(shell find guest/src wit -type f) guest/Cargo.toml Cargo.lock
	cd guest && cargo build --release --target wasm32-wasip2
	cp $(WASM_OUT) $@

# The package, editable, with the native module built by maturin.
$(VENV)/.installed: $(VENV)/.created python-host/pyproject.toml python-host/requirements.lock $(shell find host-native/src guest/src/vector -type f) host-native/Cargo.toml guest/Cargo.toml Cargo.lock
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

# The same component in node: jco (pinned in tests/jco/package-lock.json,
# which `npm ci` installs exactly and never rewrites) transpiles it to JS
# bindings in tests/jco/build. Built, never committed.
JCO_DIR := tests/jco
JCO_JS  := $(JCO_DIR)/build/oms_accel.js
$(JCO_DIR)/node_modules/.installed: $(JCO_DIR)/package.json $(JCO_DIR)/package-lock.json
	cd $(JCO_DIR) && npm ci --silent --no-audit --no-fund
	touch $@
$(JCO_JS): $(WASM_PKG) $(JCO_DIR)/node_modules/.installed
	$(JCO_DIR)/node_modules/.bin/jco transpile $(WASM_PKG) -o $(JCO_DIR)/build --name oms_accel --quiet

build: $(WASM_PKG) $(VENV)/.installed $(CONFORMANCE) $(CORPUS) $(JCO_JS) ## the component, the package (editable), test data, the jco bindings

run: setup ## set up, then a short tour: a document history encoded and decoded, embeddings searched
	$(VENV)/bin/oms-accel tour

test: setup lint cargo-test pytest test-wheel ## set up, then lint, cargo test, pytest on every backend, and the wheel's tests

cargo-test: ## the guest's logic natively (unit, property and integration tests)
	cargo test -p oms-accel-guest --release

pytest: ## the Python suite, on every backend and host that loads
	$(PY) -m pytest tests

# The wheel as users install it: into a fresh venv outside the checkout,
# with the tests run against the installed package (not the source tree).
WHEEL_TESTS := tests/delta tests/json/test_json.py tests/json/test_limits.py tests/vector/test_vectors.py tests/runtime tests/cli
test-wheel: wheel ## install the wheel into a fresh venv outside the checkout and run the tests against it
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	python3 -m venv "$$d/venv"; \
	"$$d/venv/bin/pip" install -q -c python-host/requirements.lock $(DIST)/oms_accel-*.whl numpy pytest hypothesis; \
	"$$d/venv/bin/python" -c "import oms_accel, sys; assert '/site-packages/' in oms_accel.__file__, oms_accel.__file__; print('testing', oms_accel.__file__)"; \
	"$$d/venv/bin/python" -m pytest -q -p no:cacheprovider $(WHEEL_TESTS)

wheel: $(WASM_PKG) $(VENV)/.installed ## dist/: a wheel (component, native module, fallback) and an sdist
	rm -rf $(DIST)
	cd python-host && ../$(VENV)/bin/maturin build --release --quiet --out ../$(DIST)
	cd python-host && ../$(VENV)/bin/maturin sdist --out ../$(DIST) 2>&1 | tail -1
	@ls -l $(DIST)

lint: $(VENV)/.installed ## cargo fmt --check, clippy -D warnings (native and wasm32), ruff, mypy --strict, stubtest
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p oms-accel-native --features gpu --all-targets -- -D warnings
	cd guest && cargo clippy --release --target wasm32-wasip2 -- -D warnings
	$(VENV)/bin/ruff check python-host tests benches
	$(VENV)/bin/ruff format --check python-host tests benches
	cd python-host && ../$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest oms_accel._native --mypy-config-file python-host/pyproject.toml

fmt: venv ## format Rust and Python in place
	cargo fmt --all
	$(VENV)/bin/ruff format python-host tests benches
	$(VENV)/bin/ruff check --fix python-host tests benches

bench: setup ## the delta, JSON and vector benchmarks beside their peers, cargo bench, and the hostile-input run
	$(PY) benches/rust_vs_python.py
	$(PY) benches/delta_corpus.py
	$(PY) benches/json_bench.py
	$(PY) benches/vector_bench.py
	$(PY) benches/vector_memory.py
	cd guest && cargo bench
	$(PY) benches/hostile.py --cases 3000

clean: ## remove every build output
	cargo clean
	rm -rf $(VENV) $(DIST) $(WASM_PKG) python-host/oms_accel/_native*.so $(JCO_DIR)/build $(JCO_DIR)/node_modules
