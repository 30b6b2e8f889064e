"""Where grades go: an LMS sheet and the Gradescope autograder.

* :mod:`course.export.lms` -- ``make export`` (``python -m course.export``, this package's
  ``__main__``): one row per student, and a Canvas gradebook import;
* :mod:`course.export.gradescope` -- ``make gradescope``: the autograder zip (``build``) and
  what runs inside it (``run``; scripts in ``autograder_files/``);
* :mod:`course.export.gradescope_results` -- Gradescope's results.json for one submission.
"""
