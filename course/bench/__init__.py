"""Benchmarks that print their figures (never timed tests).

* :mod:`course.bench.grading_speed` -- ``make bench`` (``python -m course.bench``, this
  package's ``__main__``): a class graded by each path, as ratios measured in one run;
* :mod:`course.bench.scale` -- ``make bench-scale``: every TA command on classes of 20, 200
  and 1,000 (:mod:`course.bench.synthetic`), per student, with the grader's memory;
* :mod:`course.bench.checkers` -- ``make bench-checkers``: each checker's time;
* :mod:`course.bench.gpu_check` -- ``make gpu-check``: the CUDA path on a GPU machine, its
  timings and its grades against the CPU's.
"""
