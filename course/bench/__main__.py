"""``python -m course.bench``: :func:`course.bench.grading_speed.main`."""
import sys

from course.bench.grading_speed import main

sys.exit(main())
