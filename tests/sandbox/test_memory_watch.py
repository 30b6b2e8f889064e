"""The memory watchdog's view of a student's processes (course.sandbox.meters.tree_resident_bytes).

The grader reads a student's memory several times a second, so it walks only that process's
tree (/proc/<pid>/task/<tid>/children); these tests check that walk finds every descendant,
agrees with a scan of all of /proc, and counts memory that a forked child touches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from course.sandbox.meters import _descendants_by_scan, descendants, tree_resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

# a parent with two children, one of which has a child holding 200 MiB; says "ready" when
# everything is allocated, then waits to be killed
TREE = textwrap.dedent("""
    import os, sys, time
    def child(hold):
        if os.fork() == 0:
            block = bytearray(hold)  # touched: resident
            for i in range(0, hold, 4096):
                block[i] = 1
            os.write(ready_w, b"x")
            time.sleep(600)
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:            # a child that forks a grandchild holding the memory
        child(200 * 2**20)
        time.sleep(600)
    child(0)                      # a second child, holding nothing
    os.read(ready_r, 1); os.read(ready_r, 1)
    print("ready", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def tree():
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole tree
        proc.wait()


def test_the_walk_finds_children_and_grandchildren(tree):
    found = descendants(tree)
    assert found[0] == tree
    assert len(found) == 4  # the process, two children, one grandchild
    assert sorted(found) == sorted(_descendants_by_scan(tree))


def test_memory_held_by_a_grandchild_counts(tree):
    assert tree_resident_bytes(tree) > 200 * 2**20


def test_a_process_that_ended_holds_nothing():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    time.sleep(0.05)
    assert tree_resident_bytes(proc.pid) == 0
