"""``python -m course.similarity``: :func:`course.similarity.compare.main`."""
import sys

from course.similarity.compare import main

sys.exit(main())
