#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04 or
# 24.04): it finds (or installs with apt) a Python at least as new as the course's
# requires-python, makes a virtual environment in source/.venv with the course's pinned
# dependencies (CPU torch) and the course's own packages (course, support: installed from
# this folder, so that every process the grader starts imports them, `python -I` ones
# included), and installs bubblewrap.  run_autograder uses that environment.  Any failure
# fails the image build, with a message that says why.  Written by `make gradescope`.
#   AUTOGRADER_ROOT     the folder laid out as /autograder (default: /autograder)
#   COURSE_PYTHON       the Python that makes the virtual environment (default: python3 when
#                       it is new enough, else python3.X, installed with apt when missing)
#   COURSE_TORCH_INDEX  an extra package index for torch's CPU build (default:
#                       https://download.pytorch.org/whl/cpu; empty: none)
# apt runs only for packages that are missing (dpkg -s), so a root that has them makes no
# apt call at all.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$SOURCE/.venv"
TORCH_INDEX="${COURSE_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
export DEBIAN_FRONTEND=noninteractive

fail() {
    echo "setup.sh: ERROR: $*" >&2
    exit 1
}

# The oldest Python the course allows (pyproject.toml's requires-python, which make
# gradescope wrote into gradescope.json), e.g. 3.11.
MINIMUM=$(sed -n 's/^ *"python": *"\([0-9][0-9.]*\)".*/\1/p' "$SOURCE/gradescope.json")
[ -n "$MINIMUM" ] || fail "$SOURCE/gradescope.json names no Python version: rebuild the zip with make gradescope"
WANTED="python$(echo "$MINIMUM" | cut -d. -f1,2)"

missing_packages() {
    local package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || echo "$package"
    done
}

apt_install() {
    # Install those of the Debian packages "$@" that are missing; false when apt cannot.
    local missing
    missing=$(missing_packages "$@")
    [ -z "$missing" ] && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "setup.sh: apt-get install" $missing
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
}

new_enough() {
    # Whether "$1" is a Python >= MINIMUM that can make a virtual environment.
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c "import sys; sys.exit(sys.version_info < (${MINIMUM//./, },))" 2>/dev/null
}

has_venv() {
    "$1" -c 'import ensurepip, venv' >/dev/null 2>&1
}

find_python() {
    # The first new-enough Python: COURSE_PYTHON alone when set, else python3, else
    # python3.X for X from 14 down to the minimum.
    local candidate
    if [ -n "${COURSE_PYTHON:-}" ]; then
        new_enough "$COURSE_PYTHON" && echo "$COURSE_PYTHON"
        return 0
    fi
    for candidate in python3 $(seq -f "python3.%g" 14 -1 "$(echo "$MINIMUM" | cut -d. -f2)"); do
        if new_enough "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
}

# bubblewrap: the sandbox around student code (course/sandbox/launcher.py); without it
# grading still runs, with the fallback sandbox, and says so.  libseccomp2: the fallback's
# network cut (course/sandbox/network.py, through pyseccomp); apt depends on it, so it is
# there already on Gradescope's images, and this only makes sure.
apt_install bubblewrap || echo "setup.sh: WARNING: bubblewrap could not be installed" >&2
apt_install libseccomp2 || echo "setup.sh: WARNING: libseccomp2 could not be installed" >&2

PYTHON=$(find_python)
if [ -z "$PYTHON" ] && [ -z "${COURSE_PYTHON:-}" ]; then
    apt_install "$WANTED" "$WANTED-venv" || true
    PYTHON=$(find_python)
fi
[ -n "$PYTHON" ] || fail "no Python >= $MINIMUM here (${COURSE_PYTHON:+COURSE_PYTHON=$COURSE_PYTHON, }python3: $(python3 --version 2>/dev/null || echo none)), and apt could not install $WANTED: choose Gradescope's Ubuntu 22.04 or 24.04 base image, or set COURSE_PYTHON"
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if ! has_venv "$PYTHON"; then
    apt_install "python$VERSION-venv" || true
    has_venv "$PYTHON" || fail "$PYTHON ($VERSION) cannot make a virtual environment: apt-get install python$VERSION-venv"
fi
echo "setup.sh: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])') makes $VENV"

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet -r "$SOURCE/requirements.txt" -c "$SOURCE/constraints.txt" \
    ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} ||
    fail "the pinned packages did not install on Python $VERSION (requirements.txt, constraints.txt)"
# The course's own code, installed from this folder (as make venv installs it): ROOT of
# course/config.py stays this folder, where pyproject.toml (the limits) and the source lie.
"${PIP[@]}" install --quiet --no-deps -e "$SOURCE" ||
    fail "the course's packages (course, support) did not install"
cd /
"$VENV/bin/python" -I -c 'import course.sandbox, course.export.gradescope, support' ||
    fail "the virtual environment cannot import the course's packages"
cd "$SOURCE"
"$VENV/bin/python" -I -m course.sandbox --check || true
echo "setup.sh: done"
