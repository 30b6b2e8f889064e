"""nbgrader's ``gradebook.db``, the one record of every grade.

Both grading commands (``make grade``, ``nbgrader autograde`` / ``make autograde``) write
each check's points and message there, with nbgrader's own API and schema, and every other
file is a view written from it (the grade sheet, results.json, the LMS and Canvas files).

* :mod:`course.gradebook.schema` -- what the course adds beside nbgrader's tables: the
  grading runs (seeds, device, command) and, per check, its status, deciding case and run;
* :mod:`course.gradebook.record` -- writing a run's grades (``Grade.auto_score``, the test
  cell's ``Comment.auto_comment``; a TA's ``manual_score`` is never touched);
* :mod:`course.gradebook.views` -- reading it back: per student and check the points that
  count (a TA's override wins), the engine's own, the message, the run that graded it.
"""
