"""The sandbox's tests (course/sandbox/launcher.py, the autograde kernel, integrity, feedback).

The ``slow`` marker (pyproject.toml) marks tests/test_attacks.py's infinite loops, which cost
a cell timeout each.
"""
