# make run  : set up a virtualenv and turn a real video into a clip (out/)
# make test : set up everything the tests need (Python, system packages, npm) and run the whole suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
VIDEO  ?= ../shared/data/videos/monocular/sports2d_run_sideview.mp4
OUT    ?= out

.PHONY: setup system-deps run test lint codegen bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch's CPU build (pyproject declares the compatible range; an unpinned torch pulls a CUDA build)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,train,ray]'
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

run: setup
	$(VENV)/bin/animgen generate $(VIDEO) -o $(OUT) --format all

test: setup system-deps
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -ra

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

codegen: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash scripts/codegen.sh

bench: setup
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build out
