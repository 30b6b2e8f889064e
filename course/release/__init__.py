"""``make release``: source/<a>/ -> release/<a>/ (the student folder and its zip).

* :mod:`course.release.build` -- nbgrader's generate_assignment, then the ``support`` code the
  folder imports, and ``release/<a>.zip``; ``python -m course.release`` (this package's
  ``__main__``) runs it;
* :mod:`course.release.execute` -- runs a source notebook with its solutions first and says
  which cell broke.
"""
