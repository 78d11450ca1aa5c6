# Two entry points: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# glibc allocator settings: 1.3-8x faster CPU torch here (the vocvision entry point sets them too).
export MALLOC_MMAP_THRESHOLD_ := 4294967296
export MALLOC_TRIM_THRESHOLD_ := 68719476736

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch/torchvision first and pinned, so that no other package pulls a different torch.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	touch $@

$(VENV)/.project: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.project
	$(BIN)/pip install -q -e ".[dev,app,onnx]"
	# Test-only cross-check of our attacks; --no-deps: its metadata pins requests~=2.25,
	# which it never imports.
	$(BIN)/pip install -q --no-deps torchattacks==3.5.1
	touch $@

demo: $(VENV)/.project
	$(BIN)/vocvision demo --out demo

test: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf demo runs .pytest_cache .ruff_cache
