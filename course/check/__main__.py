"""``python -m course.check [NOTEBOOK]``: check_my_work() from a terminal."""

import argparse

from course.check.my_work import check_my_work

parser = argparse.ArgumentParser(prog="python -m course.check",
                                 description="grade a saved notebook on its visible cases, "
                                             "as the grader will")
parser.add_argument("notebook", nargs="?", default=None,
                    help="the notebook (default: the one .ipynb in this folder)")
check_my_work(parser.parse_args().notebook)
