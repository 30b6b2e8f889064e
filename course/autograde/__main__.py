"""``python -m course.autograde``: :func:`course.autograde.parallel.main`."""
import sys

from course.autograde.parallel import main

sys.exit(main())
