# The Hessian-along-SGD companion. Everything runs inside .venv, created on first use.
#   make reproduce FIG=4 [PROFILE=default] [PARAMS="lr=0.05 epochs=12"]
#   make plan FIG=4 [PROFILE=default] [PARAMS=...]  # what would run or be served; trains nothing
#   make claims FIG=barriers [PROFILE=default]   # every claim's outcome now (ids, chapters, all)
#   make test [TEST_WORKERS=2]  # whole suite, every chapter notebook at the smoke profile
#   make book          # execute the chapters with Papermill, render the Jupyter Book
#   make bench         # performance figures
#   make paper-status  # which figures have committed paper-profile (GPU) results
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= default
FIG ?=
PARAMS ?=
# make test: pytest-xdist workers (0: one process); each gets its share of the cores
TEST_WORKERS ?= 2
# ALLOW_CPU=1: let PROFILE=paper train on a machine without a GPU (refused otherwise)
ALLOW_CPU ?=
# The offline data mirror, when there is one beside the checkout; users with internet
# need nothing (the loaders download), others point COMPANION_MIRROR at their copy.
COMPANION_MIRROR ?= $(firstword $(wildcard $(CURDIR)/../shared/data))
export COMPANION_MIRROR
export PYTHONUNBUFFERED := 1
# Two torch threads that busy-wait slow each other ~9x on a shared 2-core machine (make bench).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: help setup reproduce plan claims test test-fast book bench list paper-status clean-results

help:
	@sed -n '2,8p' Makefile

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# its kernel spec is staged in a mkdtemp folder it never removes: stage it here, then drop it
	@mkdir -p $(VENV)/.kernelspec-tmp
	TMPDIR=$(CURDIR)/$(VENV)/.kernelspec-tmp $(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	@rm -rf $(VENV)/.kernelspec-tmp
	@touch $@

setup: $(VENV)/.installed

list: setup
	@$(PY) -m companion.reproduce list

reproduce: setup
	@if [ -z "$(FIG)" ]; then echo "usage: make reproduce FIG=<id> [PROFILE=smoke|default|paper] [PARAMS=\"name=value ...\"]"; \
	  $(PY) -m companion.reproduce list; exit 2; fi
	$(PY) -m companion.reproduce fig "$(FIG)" --profile "$(PROFILE)" $(foreach p,$(PARAMS),--param "$(p)") $(if $(ALLOW_CPU),--allow-cpu)

plan: setup
	@if [ -z "$(FIG)" ]; then echo "usage: make plan FIG=<ids|chapter|all> [PROFILE=smoke|default|paper] [PARAMS=\"name=value ...\"]"; exit 2; fi
	@$(PY) -m companion.reproduce plan "$(FIG)" --profile "$(PROFILE)" $(foreach p,$(PARAMS),--param "$(p)")

claims: setup
	@if [ -z "$(FIG)" ]; then echo "usage: make claims FIG=<ids|chapter|all> [PROFILE=smoke|default|paper] [PARAMS=\"name=value ...\"]"; exit 2; fi
	$(PY) -m companion.reproduce claims "$(FIG)" --profile "$(PROFILE)" $(foreach p,$(PARAMS),--param "$(p)") $(if $(ALLOW_CPU),--allow-cpu)

test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

test-fast: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not book"

book: setup
	$(PY) -m companion.book --profile "$(PROFILE)" $(foreach p,$(PARAMS),--param "$(p)")

bench: setup
	$(PY) -m companion.bench

paper-status: setup
	@$(PY) -m companion.paper_status

clean-results:
	rm -rf data/results _build
