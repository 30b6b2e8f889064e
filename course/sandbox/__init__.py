"""The sandbox student code runs in, on both grading commands: bubblewrap, a user of its
own, resource limits.

* :mod:`course.sandbox.launcher` -- ``python -m course.sandbox ARGS -- COMMAND`` (this
  package's ``__main__``): the bubblewrap spec and the launcher; ``--check`` says whether
  filesystem isolation is on;
* :mod:`course.sandbox.command` -- the command line that runs something in the sandbox;
* :mod:`course.sandbox.limits` -- the sandbox's user and its rlimits;
* :mod:`course.sandbox.files` -- what a sandbox leaves behind, made safe for root to copy;
* :mod:`course.sandbox.meters` -- /proc meters for the watchdogs (memory, descendants, disk).
"""
