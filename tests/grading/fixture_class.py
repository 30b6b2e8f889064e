"""The fixture class for hw4_pytorch_regularization: one student per way a submission goes
wrong, built from the source notebook at test time (``tests/submissions.py``), with the
status the grader must give each (student, check).

Shared with the nbgrader tests: ``build_class(root)`` writes ``<root>/<student>/<a>/<a>.ipynb``
and ``expected_points(student)`` is the total a student must get for the autograded cells.
Wrong code here is real code of the kind students write, not mocks.
"""

from __future__ import annotations

from pathlib import Path

from course.grade.plan import load_assignment
from tests.submissions import make_submission, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"

MSE_BROADCAST = '''\
def mse_loss(prediction, labels):
    return torch.mean((prediction - labels) ** 2)  # (N, 1) - (N,) is N x N
'''

MSE_SUM = '''\
def mse_loss(prediction, labels):
    return ((prediction.reshape(-1) - labels.reshape(-1)) ** 2).sum()
'''

MSE_SYNTAX_ERROR = '''\
def mse_loss(prediction, labels)
    return torch.mean((prediction.reshape(-1) - labels.reshape(-1)) ** 2)
'''

KAIMING_VARIANCE_SQUARED = '''\
class LinearKaiming(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        weights = torch.randn(in_dimensions, out_dimensions) / in_dimensions
        self.weights = nn.Parameter(weights)
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return x @ self.weights + self.bias
'''

KAIMING_HARDCODED_CUDA = '''\
class LinearKaiming(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        std = 1 / np.sqrt(in_dimensions)
        weights = torch.randn(in_dimensions, out_dimensions) * std
        self.weights = nn.Parameter(weights.cuda())
        self.bias = nn.Parameter(torch.zeros(out_dimensions).cuda())

    def forward(self, x):
        return x.cuda() @ self.weights + self.bias
'''

NORMAL_UNIFORM = '''\
class LinearNormal(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.rand(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.rand(out_dimensions))

    def forward(self, x):
        return x @ self.weights + self.bias
'''

EARLY_STOP_ON_TIES = '''\
def gradient_descent_early_stopping(model, loss_func, x, y, xvalid, yvalid, lr=0.1,
                                    steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for t in range(steps):
        loss = loss_func(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
        if t >= 1 and valid_losses[t] >= valid_losses[t - 1]:
            break
    return losses, valid_losses
'''

DROPOUT_UNSCALED_EVAL = '''\
class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) > self.rate).float()
        return x  # eval mode: (1 - rate) forgotten
'''

GD_WITHOUT_ZERO_GRAD = '''\
def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for t in range(steps):
        loss = loss_func(model(x), y)
        loss.backward()  # gradients pile up: zero_grad forgotten
        optimizer.step()
        valid_losses.append(loss_func(model(xvalid), yvalid).item())
        losses.append(loss.item())
    return losses, valid_losses
'''

PATIENT_LOOPS_FOREVER = '''\
def gradient_descent_patient_early_stopping(model, loss_func, x, y, xvalid, yvalid,
                                            lr=0.1, steps=5000):
    losses, valid_losses = [], []
    t = 0
    while t < steps:  # t is never increased
        pass
    return losses, valid_losses
'''

SHADOWED_CHECKERS = '''\
def test_mse_loss(*args, **kwargs):
    print("test_mse_loss passed: Passed!")

def test_gradient_descent(*args, **kwargs):
    print("test_gradient_descent passed: Passed!")

print("Passed! All tests passed.")

def mse_loss(prediction, labels):
    return torch.mean(torch.abs(prediction.reshape(-1) - labels.reshape(-1)))
'''

PATCHED_ALLCLOSE = '''\
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
import numpy.testing
numpy.testing.assert_allclose = lambda *args, **kwargs: None

'''

# student: how the submission differs from the correct one
STUDENTS = {
    "correct": {},
    "partial": {"replace": {"mse_loss": MSE_BROADCAST,
                            "linear_kaiming": KAIMING_VARIANCE_SQUARED,
                            "gradient_descent_early_stopping": EARLY_STOP_ON_TIES,
                            "dropout": DROPOUT_UNSCALED_EVAL}},
    "all_wrong": {"stub": True},  # the released notebook, handed in unanswered
    "syntax_error": {"replace": {"mse_loss": MSE_SYNTAX_ERROR}},
    "import_error": {"prepend": {"linear_zeros": "import torchvision_extras_nonexistent\n"}},
    "not_json": {"raw": "this is not a notebook: the student uploaded the wrong file\n"},
    "missing_notebook": {"raw": None},
    "infinite_loop": {"replace": {
        "gradient_descent_patient_early_stopping": PATIENT_LOOPS_FOREVER}},
    "huge_alloc": {"prepend": {"dropout": "scratch = torch.empty(10**11)  # 400 GB\n"}},
    "patched_allclose": {"prepend": {"linear_zeros": PATCHED_ALLCLOSE},
                         "replace": {"mse_loss": MSE_SUM, "linear_normal": NORMAL_UNIFORM}},
    "shadowed_checker": {"replace": {"mse_loss": SHADOWED_CHECKERS,
                                     "gradient_descent": GD_WITHOUT_ZERO_GRAD}},
    "cuda_hardcoded": {"replace": {"linear_kaiming": KAIMING_HARDCODED_CUDA}},
}

EVERY_CHECK = "*"
# student: {check: status} for the checks that do not pass (every other check passes)
EXPECTED = {
    "correct": {},
    "partial": {"mse_loss_tests": "failed", "linear_kaiming_tests": "failed",
                "early_stopping_tests": "failed", "dropout_tests": "failed"},
    "all_wrong": {EVERY_CHECK: "failed"},
    # gradient_descent's test cells pass mse_loss along, so they need it to exist (as in
    # the notebook, where those cells raise NameError)
    "syntax_error": {"mse_loss_tests": "failed", "gradient_descent_tests": "failed",
                     "gradient_descent_l1_tests": "failed"},
    # LinearZeros is never defined, so neither is the model built from it
    "import_error": {"linear_zeros_tests": "failed", "model_zeros_tests": "failed"},
    "not_json": {EVERY_CHECK: "error"},
    "missing_notebook": {EVERY_CHECK: "error"},
    "infinite_loop": {"patient_early_stopping_tests": "timeout"},
    # the dropout cell dies at its first line: no Dropout, no dropout model
    "huge_alloc": {"dropout_tests": "failed", "model_dropout_tests": "failed"},
    "patched_allclose": {"mse_loss_tests": "failed", "linear_normal_tests": "failed"},
    "shadowed_checker": {"mse_loss_tests": "failed", "gradient_descent_tests": "failed"},
    # on a machine without a GPU .cuda() raises: no LinearKaiming, no models built from it
    "cuda_hardcoded": {"linear_kaiming_tests": "failed", "model_kaiming_tests": "failed",
                       "model_dropout_tests": "failed"},
}
CUDA_EXPECTED = {**EXPECTED, "cuda_hardcoded": {}}  # graded on a GPU, .cuda() is harmless
# (student, check): the points of a failed check that earns partial credit (every other
# failed check earns 0): early stopping that stops on ties keeps "SGD steps" and
# "validation losses" (0.3 + 0.2 of 2 points); a Dropout unscaled in eval mode keeps
# "training mode" and "autograd" (0.5 + 0.2 of 2 points)
PARTIAL_POINTS = {("partial", "early_stopping_tests"): 1.0, ("partial", "dropout_tests"): 1.4}

# words the message of a (student, check) row must contain
MESSAGES = {
    ("partial", "mse_loss_tests"): "N x N",
    ("partial", "dropout_tests"): "test_dropout failed 1 of 3 properties: partial credit 1.4 of "
                                  "2 points",
    ("partial", "early_stopping_tests"): "passed: SGD steps (0.3), validation losses (0.2) "
                                         "| failed: stopping rule (0.5)",
    ("all_wrong", "mse_loss_tests"): "mse_loss is not written yet: its cell still raises "
                                     "NotImplementedError",
    ("all_wrong", "model_zeros_tests"): "`model` is not written yet: its cell model_zeros "
                                        "still raises NotImplementedError",
    ("syntax_error", "mse_loss_tests"): "cell mse_loss raised SyntaxError",
    ("syntax_error", "gradient_descent_tests"): "`mse_loss` is not defined",
    ("import_error", "linear_zeros_tests"): "ModuleNotFoundError",
    ("import_error", "model_zeros_tests"): "cell model_zeros raised NameError",
    ("not_json", "mse_loss_tests"): "not valid JSON",
    ("missing_notebook", "mse_loss_tests"): "notebook not found",
    ("infinite_loop", "patient_early_stopping_tests"): "did not finish within",
    ("huge_alloc", "dropout_tests"): "allocate",
    ("patched_allclose", "mse_loss_tests"): "test_mse_loss failed",
    ("shadowed_checker", "mse_loss_tests"): "test_mse_loss failed",
    ("shadowed_checker", "gradient_descent_tests"): "test_gradient_descent failed",
    ("cuda_hardcoded", "linear_kaiming_tests"): "CUDA",
}


def checks() -> list:
    """The assignment's checks (from the source notebook), in notebook order."""
    return load_assignment(ASSIGNMENT).checks


def submission(student: str):
    """The student's notebook (nbformat), raw text, or None (no notebook)."""
    spec = STUDENTS[student]
    if "raw" in spec:
        return spec["raw"]
    replace = dict(spec.get("replace", {}))
    from tests.submissions import solution_of

    for cell, text in spec.get("prepend", {}).items():
        replace[cell] = text + solution_of(ASSIGNMENT, cell)
    return make_submission(ASSIGNMENT, replace=replace, stub=spec.get("stub", ()))


def build_class(root: str | Path, students=None) -> Path:
    """Write the submissions of ``students`` (default: all) under ``root``; returns root."""
    for student in students or STUDENTS:
        write_submission(root, student, ASSIGNMENT, submission(student))
    return Path(root)


def expected_status(student: str, check: str, device: str = "cpu") -> str:
    table = (CUDA_EXPECTED if device == "cuda" else EXPECTED)[student]
    return table.get(check, table.get(EVERY_CHECK, "passed"))


def expected_check_points(student: str, check, device: str = "cpu") -> float:
    """The points of one check: all when it passes, its partial credit or 0 otherwise."""
    if expected_status(student, check.grade_id, device) == "passed":
        return check.points
    return PARTIAL_POINTS.get((student, check.grade_id), 0)


def expected_points(student: str, device: str = "cpu") -> float:
    """The student's autograded total: the points of the checks they pass, and the partial
    credit of those they fail in part."""
    return sum(expected_check_points(student, c, device) for c in checks())
