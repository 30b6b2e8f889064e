"""``python -m course.grade``: :func:`course.grade.run.main`."""
import sys

from course.grade.run import main

sys.exit(main())
