"""The sandbox student code runs in, on both grading commands: bubblewrap, a user of its
own, resource limits.

* :mod:`course.sandbox.launcher` -- ``python -m course.sandbox ARGS -- COMMAND`` (this
  package's ``__main__``): the bubblewrap spec and the launcher; ``--check`` prints the
  isolation record;
* :mod:`course.sandbox.isolation` -- which isolation runs here (namespaces / fallback /
  none), what it lacks, ``require``, and the course's files closed in the fallback;
* :mod:`course.sandbox.network` -- the fallback's seccomp filter that refuses sockets;
* :mod:`course.sandbox.command` -- the command line that runs something in the sandbox;
* :mod:`course.sandbox.limits` -- the sandbox's user and its rlimits;
* :mod:`course.sandbox.files` -- what a sandbox leaves behind, made safe for root to copy;
* :mod:`course.sandbox.meters` -- /proc meters for the watchdogs (memory, descendants, disk).
"""
