# oms-accel: `make run` and `make test` do every set-up step themselves on a
# fresh Debian/Ubuntu machine (system packages, the wasm target, a .venv, the
# build), then run the tour or every test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
WASM_OUT  := target/wasm32-wasip2/release/oms_accel_guest.wasm
WASM_PKG  := python-host/oms_accel/oms_accel.wasm
# mesa-vulkan-drivers: lavapipe, a Vulkan device on the CPU, for the GPU tests.
APT_PKGS  := xdelta3 zstd libclang-dev python3-venv mesa-vulkan-drivers
# PyO3 builds against the venv's interpreter, whatever python3 is on PATH.
export PYO3_PYTHON := $(abspath $(PY))

.PHONY: help setup system-deps rust-target venv build run test lint fmt bench cargo-test pytest clean

help:
	@echo "make run    set up, then a short tour: a generated document history encoded and decoded"
	@echo "make test   set up, then lint, cargo test and pytest on every backend"
	@echo "make bench  the delta benchmark (each backend beside xdelta3), the JSON benchmark, cargo bench"
	@echo "make lint   cargo fmt --check, clippy -D warnings, ruff, mypy"

setup: system-deps rust-target venv build

# Debian packages, installed only when missing (as root, else with sudo).
system-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; \
	  else echo "need root or sudo to install:$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

rust-target:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

$(VENV)/.created:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

venv: $(VENV)/.created

# The component: built from guest/ (its .cargo/config.toml turns on simd128)
# and copied into the package as data.
$(WASM_PKG): $(shell find guest/src wit -type f) guest/Cargo.toml Cargo.lock
	cd guest && cargo build --release --target wasm32-wasip2
	cp $(WASM_OUT) $@

# The package, editable, with the native module built by maturin.
$(VENV)/.installed: $(VENV)/.created python-host/pyproject.toml python-host/requirements.lock $(shell find host-native/src -type f) host-native/Cargo.toml Cargo.lock
	$(PIP) install -q -c python-host/requirements.lock -e "python-host[dev]"
	touch $@

# The conformance suites (JSON-Schema-Test-Suite from the pinned jsonschema
# sdist, json-patch-test-suite from npm): fetched, never committed.
CONFORMANCE := tests/data/.fetched
$(CONFORMANCE): tests/fetch_conformance.py python-host/requirements.lock $(VENV)/.created
	$(PY) tests/fetch_conformance.py

# The same component in node: jco (pinned in tests/jco/package-lock.json)
# transpiles it to JS bindings in tests/jco/build, next to the node_modules
# they import the WASI shims from. Built, never committed.
JCO_DIR := tests/jco
JCO_JS  := $(JCO_DIR)/build/oms_accel.js
$(JCO_DIR)/node_modules/.installed: $(JCO_DIR)/package.json $(JCO_DIR)/package-lock.json
	@# (npm install, not npm ci: npm ci refuses this lock over optional
	@# platform packages jco names but never published; install keeps it.)
	cd $(JCO_DIR) && npm install --silent --no-audit --no-fund
	touch $@
$(JCO_JS): $(WASM_PKG) $(JCO_DIR)/node_modules/.installed
	$(JCO_DIR)/node_modules/.bin/jco transpile $(WASM_PKG) -o $(JCO_DIR)/build --name oms_accel --quiet

build: $(WASM_PKG) $(VENV)/.installed $(CONFORMANCE) $(JCO_JS)

run: setup
	$(VENV)/bin/oms-accel tour

test: setup lint cargo-test pytest

cargo-test:
	cargo test -p oms-accel-guest --release

pytest:
	$(PY) -m pytest tests

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p oms-accel-native --features gpu --all-targets -- -D warnings
	cd guest && cargo clippy --release --target wasm32-wasip2 -- -D warnings
	$(VENV)/bin/ruff check python-host tests benches
	$(VENV)/bin/ruff format --check python-host tests benches
	cd python-host && ../$(VENV)/bin/mypy

fmt: venv
	cargo fmt --all
	$(VENV)/bin/ruff format python-host tests benches
	$(VENV)/bin/ruff check --fix python-host tests benches

bench: setup
	$(PY) benches/rust_vs_python.py
	$(PY) benches/json_bench.py
	$(PY) benches/vector_bench.py
	cd guest && cargo bench --bench vcdiff

clean:
	cargo clean
	rm -rf $(VENV) $(WASM_PKG) python-host/oms_accel/_native*.so $(JCO_DIR)/build $(JCO_DIR)/node_modules
