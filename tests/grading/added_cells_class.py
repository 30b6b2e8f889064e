"""Students who put code of their own in cells they added (hw4), for the parity tests.

What passes in the notebook passes when graded: a helper function, an import, a constant
and a subclass, each defined in a cell the student added and each used by an answer, get
full points from ``make grade``, ``nbgrader autograde`` and the Gradescope autograder.  The
added cells also hold what grading does not run (prints, a plot, a loop, a magic).

Built like ``tests/grading/fixture_class.py``, from the source notebook at test time
(:func:`tests.submissions.make_submission`, its ``add=[(after_grade_id, source)]`` inserting
the added cells); ``submission(student)`` is the notebook and ``ZERO[student]`` the checks
that must score 0.
"""

from __future__ import annotations

import copy

from course.notebooks import cell_kind
from tests.submissions import WRONG_DROPOUT, WRONG_MSE, make_submission

ASSIGNMENT = "hw4_pytorch_regularization"

# an added cell right after the setup: an import, a constant, a subclass of nn.Module, and
# what grading skips (a magic, a print, a loop that draws)
HELPERS = '''\
%matplotlib inline
import math
import torch.nn.functional as F

INIT_STD = 1.0  # the standard deviation of LinearNormal's weights


class Affine(nn.Module):
    """f(X) = X @ W + b, the forward pass my layers share."""

    def forward(self, x):
        return x @ self.weights + self.bias


print("helpers loaded:", Affine.__mro__)
for rate in (0.1, 0.5):
    plotRegression(x, y, xvalid, yvalid)
'''

# an added cell above the Dropout answer: the helper function of the issue
KEEP_MASK = '''\
def keep_mask(x, rate):
    """A fresh Bernoulli(1 - rate) mask shaped like x, in x's dtype."""
    return (torch.rand_like(x) >= rate).to(x.dtype)


print(keep_mask(torch.ones(8), 0.5))  # try it
'''

LINEAR_ZEROS = '''\
class LinearZeros(Affine):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))
'''

MSE_WITH_IMPORT = '''\
def mse_loss(prediction, labels):
    return F.mse_loss(prediction.reshape(-1), labels.reshape(-1))
'''

NORMAL_WITH_CONSTANT = '''\
class LinearNormal(Affine):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions) * INIT_STD)
        self.bias = nn.Parameter(torch.randn(out_dimensions) * INIT_STD)
'''

KAIMING_WITH_IMPORT = '''\
class LinearKaiming(Affine):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        std = 1 / math.sqrt(in_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions) * std)
        self.bias = nn.Parameter(torch.zeros(out_dimensions))
'''

DROPOUT_WITH_HELPER = '''\
class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * keep_mask(x, self.rate)
        return x * (1 - self.rate)
'''

ANSWERS = {"linear_zeros": LINEAR_ZEROS, "mse_loss": MSE_WITH_IMPORT,
           "linear_normal": NORMAL_WITH_CONSTANT, "linear_kaiming": KAIMING_WITH_IMPORT,
           "dropout": DROPOUT_WITH_HELPER}
# keep_mask's cell goes after the last graded cell above the Dropout answer
ABOVE_DROPOUT = "gradient_descent_l1_tests"

SPIN = '''\
def spin():
    """Warm up forever."""
    while True:
        pass


warm = spin()  # an assignment: grading runs it, within the cell's budget
'''

# an added cell that redefines setup names and checkers, before wrong answers
REDEFINER = '''\
x = torch.zeros(200, 1)
y = torch.zeros(200, 1)
test_mse_loss = lambda *args, **kwargs: print("test_mse_loss passed")
test_dropout = lambda *args, **kwargs: print("test_dropout passed")
import support
support.CHECKS = {}
torch.allclose = lambda *args, **kwargs: True
'''

# student -> make_submission arguments
STUDENTS = {
    "helpers": dict(replace=ANSWERS, add=[("setup", HELPERS), (ABOVE_DROPOUT, KEEP_MASK)]),
    # keep_mask's cell first spins: stopped at its budget, so Dropout has no keep_mask
    "spinner": dict(replace=ANSWERS, add=[("setup", HELPERS),
                                          (ABOVE_DROPOUT, KEEP_MASK + SPIN)]),
    # keep_mask's cell raises before it defines keep_mask
    "raiser": dict(replace=ANSWERS, add=[("setup", HELPERS),
                                         (ABOVE_DROPOUT, "import torchvision_extras_nonexistent\n"
                                                         + KEEP_MASK)]),
    # keep_mask defined only inside a loop, which grading does not run
    "looped": dict(replace=ANSWERS, add=[("setup", HELPERS), (ABOVE_DROPOUT, "for _ in range(1):\n"
                                         + "\n".join("    " + line for line in
                                                     KEEP_MASK.splitlines()) + "\n")]),
    "redefiner": dict(replace={"mse_loss": WRONG_MSE, "dropout": WRONG_DROPOUT},
                      add=[("setup", REDEFINER), ("dropout", REDEFINER)]),
}
# (the dropout model's check builds the model but does not run keep_mask)
ZERO = {"helpers": set(), "spinner": {"dropout_tests"}, "raiser": {"dropout_tests"},
        "looped": {"dropout_tests"}, "redefiner": {"mse_loss_tests", "dropout_tests"}}


def submission(student: str, edited_demo: bool = True):
    """The student's notebook; with ``edited_demo`` the first demo cell is edited too (an
    edited demo cell counts as added: its print does not run)."""
    nb = make_submission(ASSIGNMENT, **copy.deepcopy(STUDENTS[student]))
    if edited_demo:
        demo = next(cell for cell in nb.cells if cell_kind(cell) == "demo")
        demo.source += "\nprint('my note: the data look right')"
    return nb


