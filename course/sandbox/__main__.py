"""``python -m course.sandbox``: :func:`course.sandbox.launcher.main`."""
from course.sandbox.launcher import main

main()
