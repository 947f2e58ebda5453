# r1repro — the two commands a newcomer needs:
#   make reproduce PAPER=tinyv      (CPU scale; SCALE=paper DRY_RUN=1 prints the verl launch)
#   make test
# Both create/refresh the virtual environment first (CPU torch, verl 0.9.1, core + plugins editable).

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.r1repro-installed
PLUGIN_TOMLS := $(wildcard plugins/*/pyproject.toml)
PLUGIN_DIRS  := $(patsubst %/pyproject.toml,%,$(PLUGIN_TOMLS))
TORCH   ?= torch==2.13.0
PAPER   ?=
SCALE   ?= cpu
ARGS    ?=
DRY_RUN ?=
PROFILE ?=
NAME    ?=
PYTEST_ARGS ?=
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TRANSFORMERS_VERBOSITY := error
export TOKENIZERS_PARALLELISM := false
export PYTHONWARNINGS := ignore::DeprecationWarning,ignore::FutureWarning

.PHONY: help install test reproduce results bench lint format new-plugin list clean

help:
	@echo "make reproduce PAPER=<name> [PROFILE=quick|full] [SCALE=cpu|paper] [DRY_RUN=1] [ARGS='hydra overrides']"
	@echo "make results [CHECK=1]   README result tables from the latest full-profile runs"
	@echo "make test | bench | lint | list | new-plugin NAME=<paper> | install | clean"

$(STAMP): pyproject.toml core/constraints.txt $(PLUGIN_TOMLS) tests/toy_plugin/pyproject.toml tests/verl_cpu/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --upgrade pip
	$(PIP) install -q --disable-pip-version-check $(TORCH)
	$(PIP) install -q --disable-pip-version-check -c core/constraints.txt -e ".[dev,verl-trainer]" \
		$(foreach p,$(PLUGIN_DIRS),-e $(p)) -e tests/toy_plugin -e tests/verl_cpu
	@touch $@

install: $(STAMP)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

reproduce: install
	@test -n "$(PAPER)" || { echo "usage: make reproduce PAPER=<name> [SCALE=cpu|paper] [DRY_RUN=1] [ARGS='...']"; exit 2; }
	$(VENV)/bin/r1repro reproduce $(PAPER) --scale $(SCALE) $(if $(PROFILE),--profile $(PROFILE)) $(if $(DRY_RUN),--dry-run) $(ARGS)

# README result tables from each paper's latest full-profile run (CHECK=1: fail if stale)
results: install
	$(VENV)/bin/r1repro results $(if $(CHECK),--check)

bench: install
	$(PIP) install -q --disable-pip-version-check -c core/constraints.txt -e ".[bench]"
	$(PY) -m pytest tests/benchmarks --benchmark-only --benchmark-json=runs/bench/latest.json \
		--benchmark-columns=min,median,mean,rounds -q -p no:randomly $(PYTEST_ARGS)
	$(PY) -m tests.benchmarks.summarize runs/bench/latest.json

lint: install
	$(VENV)/bin/ruff check core plugins tests
	$(VENV)/bin/ruff format --check core plugins tests

format: install
	$(VENV)/bin/ruff check --fix core plugins tests
	$(VENV)/bin/ruff format core plugins tests

new-plugin: install
	@test -n "$(NAME)" || { echo "usage: make new-plugin NAME=<paper>"; exit 2; }
	$(VENV)/bin/r1repro new-plugin $(NAME)
	$(PIP) install -q -e plugins/$(NAME)
	$(PY) -m pytest -q plugins/$(NAME)

list: install
	$(VENV)/bin/r1repro list

clean:
	rm -rf $(VENV) .cache runs .pytest_cache
