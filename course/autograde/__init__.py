"""``nbgrader autograde`` on the grading engine: the plug-ins ``nbgrader_config.py`` names.

* :mod:`course.autograde.engine` -- ``EngineExecute``: nbgrader's Execute step done by
  :mod:`course.grade` (no verdict runs in the student's kernel), and ``SaveEngineGrades``:
  nbgrader's SaveAutoGrades taking the engine's points (:mod:`course.gradebook.record`);
* :mod:`course.autograde.cases` -- the autograded test cell lists the cases that ran;
* :mod:`course.autograde.preprocessors` -- the hardened nbgrader pieces: an Execute that
  survives a hostile notebook, a check of read-only cells that warns only about real edits
  (and the filter of nbgrader's harmless SQLAlchemy warnings), feedback that hides hidden
  tests, the kernel manager, the submission hooks;
* :mod:`course.autograde.progress` -- the log line per student: count, points, ETA;
* :mod:`course.autograde.gradebook` -- the pre-convert hook: the assignment recorded in the
  gradebook from source/ when it is missing (a clone without ``make release``), the
  submission cleared of links;
* :mod:`course.autograde.kernel` -- the sandboxed IPython kernel (demo cells, and the stock
  kernel path that ``make bench`` measures);
* :mod:`course.autograde.parallel` -- ``make autograde`` (``python -m course.autograde``, this
  package's ``__main__``): the class graded by warm workers, nbgrader's autograde step for
  each student written in the same process as its grade comes in.
"""
