# Two commands do everything from a fresh clone:
#   make demo   set up .venv (pinned) and run the bundled real-data demo
#   make test   set up .venv (pinned) and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test benchmark

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[models,train,mrml,server,cluster,test]"
	touch $(STAMP)

demo: setup
	$(BIN)/rau demo --overwrite

test: setup
	$(BIN)/python -m pytest -q -n 2  # two worker processes (pytest-xdist): each test runs alone in one of them

benchmark: setup
	$(BIN)/python benchmarks/bench_registration.py --json benchmarks/results/registration.json
