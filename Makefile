# The course's commands.  Each sets up .venv (pinned dependencies) on first use.
#   make release                 source/ -> release/ (executes every source notebook first)
#   make test                    the whole test suite
#   make autograde ASSIGNMENT=a  nbgrader autograde of submitted/*/a  -> autograded/
#                                (WORKERS=n students at a time; default: one per core)
#   make grade ASSIGNMENT=a      grader_tests on submitted/*/a       -> grades/
#                                (WORKERS=n warm workers, default one per core;
#                                 SCHEDULER=tcp://host:8786 grades on a Dask cluster)
#   make bench-checkers          each checker's time on this CPU
#   make bench                   grading speed: stock nbgrader vs make grade (BENCH_N=20)
#   make feedback ASSIGNMENT=a   nbgrader generate_feedback            -> feedback/
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs alembic by name: the venv's scripts come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
ASSIGNMENT ?= hw4_pytorch_regularization
DEVICE ?= auto
SUBMISSIONS ?= submitted
PYTEST_WORKERS ?= 2
WORKERS ?=
SCHEDULER ?=
GRADE_ARGS ?=
BENCH_N ?= 20
# The sandboxed kernel nbgrader autograde runs student code in (course/sandbox_kernel.py).
KERNELSPEC := $(VENV)/share/jupyter/kernels/course-sandbox/kernel.json

.PHONY: venv sandbox release test autograde grade feedback bench bench-checkers clean

venv: $(STAMP) $(KERNELSPEC) sandbox

$(KERNELSPEC): $(STAMP) course/sandbox_kernel.py
	$(BIN)/python -m course.sandbox_kernel --install --prefix $(VENV)

# bubblewrap isolates student code (course/sandbox.py).  Installed when missing and we are
# root with apt; never fails the build: without it grading runs with limits only and says
# loudly that filesystem isolation is off.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) \
	      >/dev/null 2>&1 || true; \
	  fi; \
	  command -v bwrap >/dev/null 2>&1 || echo "WARNING: bubblewrap (bwrap) is not installed:" \
	    "student code will run WITHOUT filesystem isolation (apt-get install bubblewrap)" >&2; \
	}

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

release: $(STAMP)
	$(BIN)/python -m course.release

test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --junitxml=test-results.xml

# Each run gets a private Jupyter runtime folder (kernel connection files, IPC sockets).
autograde: venv
	@$(BIN)/python -m course.sandbox --check
	runtime=$$(mktemp -d) && JUPYTER_RUNTIME_DIR=$$runtime \
	  $(BIN)/python -m course.parallel_autograde $(ASSIGNMENT) $(if $(WORKERS),--workers $(WORKERS)); \
	  status=$$?; rm -rf "$$runtime"; exit $$status

grade: venv
	@$(BIN)/python -m course.sandbox --check
	$(BIN)/python -m pytest grader_tests --submissions $(SUBMISSIONS) --assignment $(ASSIGNMENT) --device $(DEVICE) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(GRADE_ARGS)

bench-checkers: $(STAMP)
	$(BIN)/python -m course.bench_checkers

bench: venv
	$(BIN)/python -m course.bench --students $(BENCH_N)

feedback: $(STAMP)
	$(BIN)/nbgrader generate_feedback $(ASSIGNMENT)

clean:
	rm -rf $(VENV) .pytest_cache test-results.xml
