"""The grading verb: plan, probe, judge and score a class (``make grade``, ``python -m
course.grade``, and the engine under ``nbgrader autograde``).

Read in this order:

* :mod:`course.grade.run` -- a grading run over a class (:class:`~course.grade.run.GradingRun`,
  :func:`~course.grade.run.grade_class`), with the options the command line and
  ``grader_tests/`` share; ``python -m course.grade`` is its ``main``;
* :mod:`course.grade.plan` -- what is run for one submission, built from the source notebook;
* :mod:`course.grade.grader` -- one submission: run its steps in a student process, judge the
  probe data here (:class:`~course.grade.grader.Grader`, :class:`~course.grade.grader.CheckResult`);
* :mod:`course.grade.device_policy` -- a check that failed on the GPU because of where a
  tensor is: graded again on the CPU, or failed (``[tool.course.grading] device_errors``);
* :mod:`course.grade.supervisor` -- a student process within its limits, and what came back;
* :mod:`course.grade.student_process` -- the process student code runs in (it only probes);
* :mod:`course.grade.transport` -- probe data across that boundary as arrays and JSON;
* where student processes run, one interface (``grade(...)``) in :mod:`course.grade.run`:
  cold, or :mod:`course.grade.worker_pool` of :mod:`course.grade.warm_worker` (each with its
  :mod:`course.grade.fork_server`), or :mod:`course.grade.dask_cluster`;
* :mod:`course.grade.reports` -- the grade sheet, results files and the terminal summary
  (views of the gradebook a run records in, :mod:`course.gradebook`);
  :mod:`course.grade.overview` -- that summary for a large class;
* :mod:`course.grade.journal` -- each student's grade on disk as it is graded: an
  interrupted run resumes.

This file imports nothing: a student process imports :mod:`course.grade.student_process`
alone.
"""
