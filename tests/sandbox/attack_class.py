"""A class of hostile submissions of hw4 (issue 5's corpus), for both grading paths.

Each student is built at test time from the source notebook (``tests/submissions.py``),
correct except for its attacks, so that the points it must get are known exactly; demo
cells (training runs, plots) are dropped, as a student may, to keep grading fast.

* ``a_intruder`` attacks the machine from a solution cell (read the solutions and the
  gradebook, write the gradebook and another student's submission, connect out, allocate
  50 GB, write 5 GB, fork 1000 processes, leave links to the solutions, a FIFO and a
  daemon behind for root); otherwise correct: full marks, every attack blocked.  It is
  graded first, before the others whose files it attacks.
* ``b_cheater`` attacks the grading logic, one question each: an edited visible test cell
  (ending with a tensor), a deleted test cell, a test cell with its metadata stripped, a
  redefined checker, "Passed!" and an early return, ``sys.exit(0)``; plus harmless things
  that must not cost points: a torch warning on stderr in a correct cell, solution cells
  ending with a tensor and a numpy scalar, a notebook naming another kernel.
* ``c_patcher`` patches ``torch.allclose``, ``torch.Tensor.__eq__`` and
  ``builtins.isinstance`` (the latter two in a way that keeps the kernel working).
* ``d_crasher`` segfaults (ctypes) in one function and ``os._exit(0)``s in another.
* ``e_shadower`` hands in, beside a notebook with a wrong Dropout, files that would shadow
  the course if anything imported them (:data:`SHADOW_FILES`: a ``support/`` package whose
  checkers always pass, ``torch/``, ``course/``, ``sitecustomize.py``, ``usercustomize.py``,
  a ``.pth`` file, a second notebook with the solutions, a link to the source notebook).
* ``correct`` is the control: full marks whatever the others did.
* ``looper`` (slow, graded on its own): an infinite loop, and one that ignores interrupts.

``ZERO[student]``: the test cells / checks that must score 0 (all others: full), the same on
both grading commands (one engine).  ``SEEDS``: the seeds both commands grade with.
"""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

from course.notebooks import cell_kind, grade_id
from tests.submissions import WRONG_DROPOUT, make_submission, solution_of, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"
A = ASSIGNMENT
# Fixed, and not the notebook's hidden ones, so that no message quotes a hidden-test line
SEEDS = [0, 424242, 777777]
SHADOW = "SHADOW"  # what each shadowing file prints or raises when imported


class Listener:
    """A TCP server on the host's loopback that student code must never reach: give the
    attacks its ``port``; after the run, :meth:`reached` says whether anything connected."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.server.settimeout(0)
        self.port = self.server.getsockname()[1]

    def reached(self) -> bool:
        try:
            self.server.accept()
            return True
        except BlockingIOError:
            return False
        finally:
            self.server.close()


def correct(cell: str) -> str:
    return solution_of(A, cell)


INTRUDER = textwrap.dedent('''\
    import glob, os, socket, time
    def _attack(name, action):
        try:
            result = action()
        except BaseException as error:  # noqa
            print(f"ATTACK {name}: blocked ({type(error).__name__})", flush=True)
        else:
            print(f"ATTACK {name}: SUCCEEDED ({str(result)[:80]})", flush=True)
    def _read(path):
        with open(path, "rb") as handle:
            return handle.read(300)
    def _write(path, mode="r+b"):
        with open(path, mode) as handle:
            handle.write(b"not a notebook any more")
        return "written"
    _root, _repo, _port = @ROOT@, @REPO@, @PORT@
    _attack("read the solutions (relative)", lambda: _read("../../../source/@A@/@A@.ipynb"))
    _attack("read the solutions", lambda: _read(_root + "/source/@A@/@A@.ipynb"))
    _attack("read the repository's solutions", lambda: _read(_repo + "/source/@A@/@A@.ipynb"))
    _attack("read the notebook with the hidden tests", lambda: _read(glob.glob("*.ipynb")[0]))
    _attack("read the gradebook", lambda: _read(_root + "/gradebook.db"))
    _attack("write the gradebook", lambda: _write(_root + "/gradebook.db"))
    _attack("replace the gradebook", lambda: _write(_root + "/gradebook.db", "wb"))
    _attack("write another student's submission",
            lambda: _write(_root + "/submitted/correct/@A@/@A@.ipynb", "wb"))
    _attack("write another student's folder", lambda: _write("../../correct/@A@/@A@.ipynb", "wb"))
    _attack("connect to the host", lambda: socket.create_connection(("127.0.0.1", _port), 3))
    _attack("connect to the internet", lambda: socket.create_connection(("1.1.1.1", 53), 3))
    def _allocate():
        return torch.empty(50 * 2**30, dtype=torch.uint8).numel()
    _attack("allocate 50 GB", _allocate)
    def _write_5_gb():
        try:
            with open("big.bin", "wb") as handle:
                for _ in range(5 * 64):
                    handle.write(b"0" * 2**24)
        finally:
            if os.path.exists("big.bin"):
                os.remove("big.bin")
        return "5 GB written"
    _attack("write 5 GB", _write_5_gb)
    def _fork_bomb():
        children = []
        try:
            for _ in range(1000):
                pid = os.fork()
                if pid == 0:
                    time.sleep(600)
                    os._exit(0)
                children.append(pid)
        finally:
            print(f"forked {len(children)} processes", flush=True)
            for pid in children:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        return "1000 processes"
    _attack("fork 1000 processes", _fork_bomb)
    try:  # traps for root processes that later copy or chmod this folder
        os.symlink(_root + "/source/@A@/@A@.ipynb", "solutions.txt")
        os.mkfifo("blocker.txt")
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        print("TRAPS left", flush=True)
    except OSError as error:
        print(f"TRAPS not left ({error})", flush=True)
    del _attack, _read, _write, _allocate, _write_5_gb, _fork_bomb
''')

NO_EVAL = '''\
def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, valid_losses = [], []
    for t in range(steps):
        loss = loss_func(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            valid_loss = loss_func(model(xvalid), yvalid)  # no model.train() / model.eval()
        losses.append(loss.item())
        valid_losses.append(valid_loss.item())
    return losses, valid_losses
'''


def never_stops(name: str) -> str:
    return NO_EVAL.replace("def gradient_descent(", f"def {name}(")


NO_PENALTY = NO_EVAL.replace(
    "def gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):",
    "def gradient_descent_l1(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1.,\n"
    "                        steps=5000):  # the penalty is missing")

L1_PASSED = '''\
def gradient_descent_l1(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1.,
                        steps=5000):
    print("test_gradient_descent passed: Passed!")
    return [0.0] * steps, [0.0] * steps
'''

LINEAR_MODEL = '''\
model = nn.Sequential(
    nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
    nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 1),
)
'''

FAKE_CHECKER = '''
def test_early_stopping(*args, **kwargs):
    print("test_early_stopping passed: Passed!")
'''



def with_first_line(cell: str, line: str) -> str:
    """The correct function of ``cell`` with ``line`` as the first line of its body."""
    source = correct(cell)
    head, _, rest = source.partition('"""')
    doc, _, body = rest.partition('"""')
    return f'{head}"""{doc}"""\n    {line}{body}'


def intruder(root, repo, port) -> str:
    """The intruder's attacks, aimed at this course copy, repository and loopback port."""
    return (INTRUDER.replace("@ROOT@", repr(str(root))).replace("@REPO@", repr(str(repo)))
            .replace("@PORT@", str(int(port))).replace("@A@", A))


def students(root, repo, port) -> dict:
    """student -> make_submission arguments (plus ``kernel`` for the notebook metadata)."""
    return {
        "a_intruder": dict(replace={"linear_zeros": intruder(root, repo, port)
                                    + "\n" + correct("linear_zeros")}),
        "b_cheater": dict(
            replace={
                "gradient_descent_train_eval": NO_EVAL,
                "gradient_descent_early_stopping": never_stops("gradient_descent_early_stopping"),
                "model_normal": LINEAR_MODEL,
                "gradient_descent_patient_early_stopping":
                    never_stops("gradient_descent_patient_early_stopping") + FAKE_CHECKER,
                "gradient_descent_l1": L1_PASSED,
                "model_kaiming": "import sys\nsys.exit(0)\n" + correct("model_kaiming"),
                "mse_loss": with_first_line("mse_loss", "_ = torch.tensor(labels)  # warns"),
                "linear_zeros": correct("linear_zeros") + "\ntorch.tensor(100.)",
                "dropout": correct("dropout") + "\nnp.float64(100.)",
            },
            edit_tests={"train_eval_tests": "pass\ntorch.tensor(100.)"},
            delete=("early_stopping_tests",),
            strip_metadata=("model_normal_tests",),
            kernel="evil"),
        "c_patcher": dict(replace={
            "gradient_descent_l1": "torch.allclose = lambda *a, **k: True\n" + NO_PENALTY,
            "dropout": "torch.Tensor.__eq__ = lambda self, other: True\n" + WRONG_DROPOUT,
            "model_dropout": "import builtins\n_isinstance = builtins.isinstance\n"
                             "builtins.isinstance = lambda obj, kind: True if kind is "
                             "torch.Tensor else _isinstance(obj, kind)\n"
                             + correct("model_dropout"),
        }),
        "d_crasher": dict(replace={
            "gradient_descent_early_stopping": with_first_line(
                "gradient_descent_early_stopping", "import ctypes; ctypes.string_at(0)"),
            "gradient_descent_train_eval": with_first_line(
                "gradient_descent_train_eval", "import os; os._exit(0)"),
        }),
        "e_shadower": dict(replace={"dropout": WRONG_DROPOUT}, shadow=True),
        "correct": {},
    }


LOOPER = {
    "looper": dict(replace={
        "gradient_descent_l1": with_first_line("gradient_descent_l1", "while True: pass"),
        "gradient_descent_patient_early_stopping": with_first_line(
            "gradient_descent_patient_early_stopping",
            "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True: pass"),
    }),
    "correct": {},
}

_ALWAYS_PASS = f'''print("{SHADOW}: the handed-in support package was imported")


def __getattr__(name):
    def always_pass(*args, **kwargs):
        print(name, "passed")
    return always_pass


CHECKS = {{}}
'''
SHADOW_FILES = {
    "support/__init__.py": _ALWAYS_PASS,
    f"support/{A}.py": _ALWAYS_PASS,
    f"support/{A}/__init__.py": _ALWAYS_PASS,
    "support/checking.py": _ALWAYS_PASS,
    "torch/__init__.py": f'raise ImportError("{SHADOW}: the handed-in torch was imported")\n',
    "course/__init__.py": f'raise ImportError("{SHADOW}: the handed-in course was imported")\n',
    "course/grade/grader.py": f'raise ImportError("{SHADOW}: handed-in course.grade.grader")\n',
    "sitecustomize.py": f'print("{SHADOW}: sitecustomize ran")\n'
                        "import torch\ntorch.allclose = lambda *a, **k: True\n",
    "usercustomize.py": f'print("{SHADOW}: usercustomize ran")\n',
    "evil.pth": f'import sys; print("{SHADOW}: a .pth file ran", file=sys.stderr)\n',
}
SHADOW_LINKS = {"notes.txt": f"../../../source/{A}/{A}.ipynb"}
SECOND_NOTEBOOK = f"{A} (1).ipynb"  # a copy with the solutions, beside the graded one

CHEATER_ZERO = {"train_eval_tests", "model_normal_tests", "gradient_descent_l1_tests",
                "model_kaiming_tests"}
# (student, test cell): partial credit honestly earned, whatever the student faked: the
# cheater's early-stopping loops never stop, but their SGD steps and validation losses are
# right (0.3 + 0.2 of 2 points each); everything else scores 0 or all its points
PARTIAL = {("b_cheater", "early_stopping_tests"): 1.0,
           ("b_cheater", "patient_early_stopping_tests"): 1.0}
ZERO = {
    "a_intruder": set(), "correct": set(), "b_cheater": CHEATER_ZERO,
    # the patches are in the student's process only: the verdicts judge its data
    "c_patcher": {"gradient_descent_l1_tests", "dropout_tests"},
    "d_crasher": {"early_stopping_tests", "train_eval_tests"},
    "e_shadower": {"dropout_tests"},
    "looper": {"gradient_descent_l1_tests", "patient_early_stopping_tests"},
}


def lean(nb):
    """The notebook without its demo cells (training runs, plots): a student may drop them."""
    nb.cells = [cell for cell in nb.cells if cell_kind(cell) != "demo"]
    return nb


def build(submitted, specs: dict) -> None:
    """Write every student of ``specs`` into ``submitted/<student>/<a>/<a>.ipynb``."""
    for student, spec in specs.items():
        spec = dict(spec)
        kernel, strip = spec.pop("kernel", None), spec.pop("strip_metadata", ())
        if spec.pop("shadow", False):
            hand_in_shadows(Path(submitted) / student / A)
        nb = lean(make_submission(A, **spec))
        for cell in nb.cells:
            if grade_id(cell) in strip:
                cell.metadata.pop("nbgrader", None)
                cell.source = 'print("Passed!")'
        if kernel:
            nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel,
                                         "language": "python"}
        write_submission(submitted, student, A, nb)


def hand_in_shadows(folder: Path) -> None:
    """Put :data:`SHADOW_FILES`, the links and a solved second notebook in ``folder``."""
    for name, text in SHADOW_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for name, target in SHADOW_LINKS.items():
        (folder / name).symlink_to(target)
    write_submission(folder.parent.parent, folder.parent.name, A, make_submission(A))
    (folder / f"{A}.ipynb").rename(folder / SECOND_NOTEBOOK)


def hidden_lines(source_nb) -> list[str]:
    """The hidden-test lines of a source notebook (what no student may ever see)."""
    from course.notebooks import BEGIN_HIDDEN, END_HIDDEN

    lines, inside = [], False
    for cell in source_nb.cells:
        if cell_kind(cell) != "test":
            continue
        for line in cell.source.split("\n"):
            if BEGIN_HIDDEN in line:
                inside = True
            elif END_HIDDEN in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return sorted(set(lines))
