"""``python -m course.release``: :func:`course.release.build.main`."""
import sys

from course.release.build import main

sys.exit(main())
