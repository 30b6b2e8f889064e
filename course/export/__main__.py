"""``python -m course.export``: :func:`course.export.lms.main`."""
import sys

from course.export.lms import main

sys.exit(main())
