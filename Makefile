# The course's commands.  Each sets up .venv (pinned dependencies) on first use.
#   make release                 source/ -> release/ (executes every source notebook first)
#   make test                    the whole test suite (but the clean-room tests)
#   make test-clean-room         the clean-room tests: what ships (a fresh copy of the repository,
#                                the Gradescope zip, the student zip) with a venv its own scripts
#                                build, commands run as the README gives them (minutes)
#   make autograde ASSIGNMENT=a  nbgrader autograde of submitted/*/a  -> autograded/, gradebook.db
#                                (the engine's warm workers grade; nbgrader's step in-process)
#                                (WORKERS=n students at a time; default: one per core)
#   make grade ASSIGNMENT=a      grader_tests on submitted/*/a       -> gradebook.db, grades/
#                                (WORKERS=n warm workers, default one per core;
#                                 SCHEDULER=tls://host:8786 TLS_CA=ca.pem TLS_CERT=node.pem
#                                 TLS_KEY=node-key.pem grades on a Dask cluster;
#                                 STUDENTS=alice,bob regrades them, keeping the others;
#                                 an interrupted run resumes, FRESH=1 starts over)
#   make gradescope ASSIGNMENT=a the Gradescope autograder  -> gradescope/a-autograder.zip
#                                (VISIBILITY=after_published: when hidden cases are shown)
#   make export ASSIGNMENT=a     gradebook.db as one row per student, and a Canvas import -> grades/
#                                (ROSTER=roster.csv maps nbgrader ids to LMS ids)
#   make bench-checkers          each checker's time on this CPU
#   make bench                   grading speed: nbgrader's old kernel path vs the grading
#                                engine (nbgrader autograde, make autograde, make grade; BENCH_N=20,
#                                DEVICE=cuda on a GPU, BENCH_ARGS=--skip-stock ...)
#   make gpu-check               on a GPU machine: the CUDA tests, make grade and nbgrader
#                                autograde on the GPU against the CPU, make bench DEVICE=cuda
#                                (exits 2 without CUDA; GPU_CHECK_ARGS=--dry-run | --rehearse)
#   make bench-scale             every TA command on synthetic classes of BENCH_SIZES=20,200,1000:
#                                s/student, peak memory (BENCH_SCALE_ARGS='--max "make autograde=200"')
#   make feedback ASSIGNMENT=a   nbgrader generate_feedback            -> feedback/
#   make similarity ASSIGNMENT=a students' solution cells, the pairs that share code -> similarity/
#                                (flags similar pairs for a TA to read; SIMILARITY_ARGS=--top 20)
#   make formgrader              nbgrader's formgrader (written answers, manual grades) on
#                                127.0.0.1 with a token (JUPYTER_PORT, JUPYTER_TOKEN to choose)
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
TLS_CA ?=
TLS_CERT ?=
TLS_KEY ?=
SIMILARITY_ARGS ?=
GRADE_ARGS ?=
STUDENTS ?=
VISIBILITY ?=
ROSTER ?=
EXPORT_ARGS ?=
RELEASE_ARGS ?=
BENCH_N ?= 20
BENCH_ARGS ?=
GPU_CHECK_ARGS ?=
BENCH_SIZES ?= 20,200,1000
BENCH_SCALE_ARGS ?=
FRESH ?=
# The sandboxed kernel nbgrader autograde runs student code in (course/autograde/kernel.py).
KERNELSPEC := $(VENV)/share/jupyter/kernels/course-sandbox/kernel.json

.PHONY: venv sandbox release test test-clean-room autograde grade feedback similarity bench \
	bench-scale bench-checkers clean gradescope export formgrader gpu-check

venv: $(STAMP) $(KERNELSPEC) sandbox

$(KERNELSPEC): $(STAMP) course/autograde/kernel.py
	$(BIN)/python -m course.autograde.kernel --install --prefix $(VENV)

# bubblewrap isolates student code (course/sandbox/launcher.py).  Installed when missing and we are
# root with apt; never fails the build: without it grading runs in the sandbox's fallback (a
# user of its own, limits, no sockets: course/sandbox/isolation.py) and says so loudly.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make venv: installing bubblewrap (apt-get), the sandbox of student code" >&2; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) \
	      >/dev/null 2>&1 || true; \
	  fi; \
	  command -v bwrap >/dev/null 2>&1 || echo "WARNING: bubblewrap (bwrap) is not installed:" \
	    "student code will run in the sandbox's fallback, WITHOUT filesystem isolation" \
	    "(apt-get install bubblewrap; python -m course.sandbox --check)" >&2; \
	}

# Each step says what it does on stderr first: pip stays quiet, and torch alone takes minutes.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@echo "make venv: [1/3] a virtual environment in $(VENV) ($(PYTHON); kept if there is one)" >&2
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make venv: [2/3] installing the pinned packages of requirements.txt and their" \
	  "dependencies (constraints.txt; torch CPU among them: minutes the first time)" >&2
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@echo "make venv: [3/3] installing the course's own code (pip install -e .)" >&2
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# venv, not just the packages: plain `nbgrader autograde` right after `make release` needs the
# sandboxed kernel's kernelspec (demo_cells = "run") and bubblewrap.
# Progress on stderr: a line per assignment and step, a bar over each source notebook's cells.
release: venv
	$(BIN)/python -m course.release $(RELEASE_ARGS)

test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not clean_room" --junitxml=test-results.xml

# Minutes each: a fresh copy of the repository and a fresh venv (never this one's .venv).
test-clean-room: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m clean_room

# Each run gets a private Jupyter runtime folder (kernel connection files, IPC sockets).
autograde: venv
	@$(BIN)/python -m course.sandbox --check
	runtime=$$(mktemp -d) && JUPYTER_RUNTIME_DIR=$$runtime \
	  $(BIN)/python -m course.autograde $(ASSIGNMENT) $(if $(WORKERS),--workers $(WORKERS)); \
	  status=$$?; rm -rf "$$runtime"; exit $$status

grade: venv
	@$(BIN)/python -m course.sandbox --check
	$(BIN)/python -m pytest grader_tests --submissions $(SUBMISSIONS) --assignment $(ASSIGNMENT) --device $(DEVICE) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(TLS_CA),--tls-ca-file $(TLS_CA)) $(if $(TLS_CERT),--tls-cert $(TLS_CERT)) $(if $(TLS_KEY),--tls-key $(TLS_KEY)) $(if $(STUDENTS),--students $(STUDENTS)) $(if $(FRESH),--fresh) $(GRADE_ARGS)

# The zip a course uploads to Gradescope (course/export/gradescope.py), checked on the solutions.
gradescope: venv
	$(BIN)/python -m course.export.gradescope build $(ASSIGNMENT) $(if $(VISIBILITY),--hidden-visibility $(VISIBILITY))

# grades/<a>-lms.csv (one row per student) and grades/<a>-canvas.csv (course/export/lms.py).
export: $(STAMP)
	$(BIN)/python -m course.export $(ASSIGNMENT) $(if $(ROSTER),--roster $(ROSTER)) $(EXPORT_ARGS)

bench-checkers: $(STAMP)
	$(BIN)/python -m course.bench.checkers

bench: venv
	$(BIN)/python -m course.bench --students $(BENCH_N) $(if $(filter-out auto,$(DEVICE)),--device $(DEVICE)) $(BENCH_ARGS)

# The CUDA path on a GPU machine (course/bench/gpu_check.py): the suite's CUDA tests, make grade
# and nbgrader autograde of two classes on the GPU against the CPU, make bench DEVICE=cuda.
# Exits 2 without a CUDA device (GPU_CHECK_ARGS=--dry-run shows the steps).
gpu-check: venv
	$(BIN)/python -m course.bench.gpu_check $(GPU_CHECK_ARGS)

# A benchmark run by hand (tens of minutes at 1000): course/bench/scale.py says what it times.
bench-scale: venv
	$(BIN)/python -m course.bench.scale --sizes $(BENCH_SIZES) $(BENCH_SCALE_ARGS)

feedback: $(STAMP)
	$(BIN)/nbgrader generate_feedback $(ASSIGNMENT)

similarity: $(STAMP)
	$(BIN)/python -m course.similarity $(ASSIGNMENT) --submissions $(SUBMISSIONS) $(SIMILARITY_ARGS)

# The formgrader is a Jupyter server extension in nbgrader 0.9 (`nbgrader formgrade` is gone):
# a server from the course root, on 127.0.0.1 only, with a token (Jupyter draws one, or
# JUPYTER_TOKEN); it prints the URL to open, .../formgrader?token=...  JUPYTER_PORT picks the
# port (default 8888).  As root (a grading machine) Jupyter wants --allow-root.
formgrader: venv
	$(BIN)/jupyter server --ip=127.0.0.1 --no-browser --ServerApp.default_url=/formgrader \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) .pytest_cache test-results.xml
