"""The student's check before submitting: ``check_my_work()``, the last cell of every notebook.

* :mod:`course.check.my_work` -- find the saved notebook, grade it with the grading engine
  (:mod:`course.grade`: plan, student process, verdicts) on the visible cases only, and print
  the table and what the grader will not see;
* ``python -m course.check [NOTEBOOK]`` -- the same from a terminal.

The student's zip (``make release``) carries this package, the engine it uses and the
released notebook its plan is built from; this file imports only :func:`check_my_work`.
"""

from course.check.my_work import check_my_work

__all__ = ["check_my_work"]
