#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu): the
# system packages, then a virtual environment with the course's pinned dependencies (CPU
# torch) in source/.venv, which run_autograder uses.  Written by `make gradescope`.
#   AUTOGRADER_ROOT  the folder laid out as /autograder (default: /autograder)
#   COURSE_PYTHON    the Python that makes the virtual environment (default: python3, or
#                    python3.11 where python3 is older than the pins need)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the sandbox around student code (course/sandbox/launcher.py)
apt-get install -y -qq --no-install-recommends bubblewrap python3 python3-venv python3-pip
PYTHON="${COURSE_PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$SOURCE/.venv"
"$SOURCE/.venv/bin/pip" install --quiet --disable-pip-version-check \
    -r "$SOURCE/requirements.txt" -c "$SOURCE/constraints.txt" \
    --extra-index-url https://download.pytorch.org/whl/cpu
cd "$SOURCE"
"$SOURCE/.venv/bin/python" -m course.sandbox --check || true
