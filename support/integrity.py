"""Hidden tests that notice when student code tampered with what the checks rely on.

In ``nbgrader autograde`` the checks run in the same Python process as the student's code,
so a cell such as ``torch.allclose = lambda *a, **k: True`` or ``def test_mse_loss(*a):
print("passed")`` could decide the verdict.  This module keeps the objects the checks
rely on as they were *before* any student code ran, and each hidden-test block starts with
one line:

    from support.integrity import verify_integrity; verify_integrity()

which

1. raises :class:`IntegrityError` (the cell scores 0, with the reason as its message) when
   an attribute of ``builtins``, ``torch`` (its main modules, ``Tensor``, ``nn.Module``,
   ``nn.Parameter``, the optimizers), ``numpy``, ``math`` or of the course's ``support``
   modules (functions, their code, defaults and closures, the checks' probes and verdicts)
   is no longer the object it was;
2. binds the course's own checkers again in the notebook's namespace ("imports them
   afresh"): a checker the student redefined is replaced, with a note on stdout, so the
   hidden tests judge the student's code with the real check;
3. wraps those checkers so that each call verifies again, before it starts and when it
   returns: student code that patches something *while* a check runs it fails that check
   too.

When the snapshot is taken: this module is imported by ``support/__init__.py``, i.e. by the
setup cell's ``from support import *`` (or ``from support.<assignment> import *``), before
any student code.  It records ``builtins`` then, ``torch`` and ``numpy`` when they are (or
once they get) imported, and each ``support`` module when its import completes.

This raises the bar; it is not a sandbox.  Code in the same process can in principle undo
any in-process check (replace this very module first, say).  The authoritative grading
path, ``grader_tests``, runs student code in another, sandboxed process and judges only
the data it returns (see DESIGN.md); there, none of this is needed.
"""

from __future__ import annotations

import builtins
import functools
import importlib.abc
import math
import sys
import types

__all__ = ["verify_integrity", "IntegrityError"]

WATCHED_TOP_LEVEL = ("torch", "numpy")
SKIPPED_CLASS_KEYS = {"__dict__", "__weakref__", "__doc__", "__module__", "__slotnames__",
                      "__abstractmethods__", "_abc_impl", "__annotations__", "__parameters__",
                      "__orig_bases__", "__firstlineno__", "__static_attributes__"}
_getframe = sys._getframe  # kept before any student code (identity is tested with `is`)


class IntegrityError(AssertionError):
    """Student code replaced something the checks rely on; the message says what."""


class _Record:
    """The objects of one namespace at import time: a module's attributes, or what each
    attribute name of a class resolves to through its bases (so that a subclass shadowing
    an inherited method, ``torch.Tensor.__eq__ = ...``, counts as a replacement)."""

    def __init__(self, label: str, owner, names=None):
        self.label, self.owner = label, owner
        self.is_class = isinstance(owner, type)
        keys = names if names is not None else [k for k in self._names() if self._kept(k)]
        self.values = {}
        self.start_keys = set() if self.is_class else set(owner.__dict__)
        for key in keys:
            value = self._lookup(key)
            if value is not _MISSING:
                self.values[key] = (value, _details(value))

    def _names(self):
        return dir(self.owner) if self.is_class else list(self.owner.__dict__)

    def _lookup(self, key):
        if self.is_class:
            for klass in self.owner.__mro__:
                if key in klass.__dict__:
                    return klass.__dict__[key]
            return _MISSING
        return self.owner.__dict__.get(key, _MISSING)

    def _kept(self, key: str) -> bool:
        if self.is_class:
            return key not in SKIPPED_CLASS_KEYS
        return not (key.startswith("__") and key.endswith("__"))

    def problems(self) -> list[str]:
        found = []
        for key, (value, details) in self.values.items():
            try:
                current = self._lookup(key)
            except Exception:  # noqa: BLE001 - a class whose __mro__ was tampered with
                current = None
            if current is _MISSING:
                found.append(f"{self.label}.{key} was deleted")
            elif current is not value:
                if _own_wrapper(current, value):  # torch wraps some of its own functions
                    self.values[key] = (current, _details(current))
                    continue
                found.append(f"{self.label}.{key} was replaced")
            elif _changed(value, details):
                found.append(f"the code of {self.label}.{key} was changed")
        if not self.is_class and self.owner is not builtins:
            namespace = self.owner.__dict__
            found += [f"{self.label}.{key} was added, hiding the builtin"
                      for key in _BUILTIN_NAMES if key in namespace
                      and key not in self.start_keys]
        return found


_MISSING = object()
_BUILTIN_NAMES = [k for k in vars(builtins) if not k.startswith("_")]
_RECORDS: dict[str, _Record] = {}  # label -> record (a module reloaded is recorded anew)
_MODULES: dict[str, types.ModuleType] = {}  # name -> module object at record time
_CHECKERS: dict[str, dict] = {}  # exported name -> {facade module: original object}
_GUARDS: dict[int, object] = {}  # id(original checker) -> its guarded wrapper
_TRUSTED_DIRS: list[str] = []  # torch's and numpy's package folders


def _own_wrapper(current, original, depth: int = 4) -> bool:
    """Whether ``current`` is a wrapper that torch or numpy put around ``original`` itself
    (torch wraps ``manual_seed`` when its compiler loads, and an optimizer class's ``step``
    when the first optimizer is made): functools.wraps-style wrappers defined in their own
    package, down to the original."""
    for _ in range(depth):
        code = getattr(current, "__code__", None)
        if not isinstance(current, types.FunctionType) or code is None or not any(
                code.co_filename.startswith(folder) for folder in _TRUSTED_DIRS):
            return False
        current = getattr(current, "__wrapped__", None)
        if current is original:
            return True
    return False


def _details(value):
    """What of a Python function can be swapped without replacing the function itself."""
    if isinstance(value, types.FunctionType):
        cells = tuple(c.cell_contents if _callable_cell(c) else None
                      for c in (value.__closure__ or ()))
        return (value.__code__, value.__defaults__, value.__kwdefaults__, cells)
    if hasattr(value, "__dataclass_fields__") and callable(value):  # a Check
        try:
            return tuple(sorted(vars(value).items(), key=lambda kv: kv[0]))
        except TypeError:
            return None
    return None


def _callable_cell(cell) -> bool:
    try:
        return callable(cell.cell_contents)
    except ValueError:  # an empty cell
        return False


def _changed(value, details) -> bool:
    if details is None:
        return False
    now = _details(value)
    if now is None or len(now) != len(details):
        return True
    if isinstance(value, types.FunctionType):
        code, defaults, kwdefaults, cells = now
        return not (code is details[0] and defaults is details[1]
                    and kwdefaults is details[2]
                    and len(cells) == len(details[3])
                    and all(a is b for a, b in zip(cells, details[3])))
    return not all(a[0] == b[0] and a[1] is b[1] for a, b in zip(now, details))


# --------------------------------------------------------------------------- recording


def _record_module(module: types.ModuleType, label: str | None = None) -> None:
    label = label or module.__name__
    _MODULES[module.__name__] = module
    _RECORDS[label] = _Record(label, module)


def _record_class(cls: type, label: str) -> None:
    _RECORDS[label] = _Record(label, cls)


def _record_builtins() -> None:
    names = [k for k, v in vars(builtins).items()
             if (not k.startswith("_") or k in ("__import__", "__build_class__"))
             and isinstance(v, (types.BuiltinFunctionType, type))]
    _RECORDS["builtins"] = _Record("builtins", builtins, names)
    _RECORDS["sys"] = _Record("sys", sys, ["_getframe", "modules"])
    _record_module(math)


def _package_dir(module) -> None:
    import os

    folder = os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    if folder not in _TRUSTED_DIRS:
        _TRUSTED_DIRS.append(folder)


def _record_torch(torch) -> None:
    _package_dir(torch)
    for name in ("torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.optim",
                 "torch.testing", "torch.linalg", "torch.autograd", "torch.random"):
        module = sys.modules.get(name)
        if module is not None:
            _record_module(module)
    classes = {"torch.Tensor": torch.Tensor, "torch.nn.Module": torch.nn.Module,
               "torch.nn.Parameter": torch.nn.Parameter,
               "torch.optim.Optimizer": torch.optim.Optimizer}
    for name in dir(torch.optim):
        value = getattr(torch.optim, name, None)
        if isinstance(value, type) and issubclass(value, torch.optim.Optimizer):
            classes[f"torch.optim.{name}"] = value
    for base in torch.Tensor.__mro__[1:]:
        if base is not object:
            classes[f"torch.Tensor base {base.__name__}"] = base
    for label, cls in classes.items():
        _record_class(cls, label)


def _record_numpy(numpy) -> None:
    _package_dir(numpy)
    for name in ("numpy", "numpy.testing", "numpy.linalg", "numpy.random"):
        module = sys.modules.get(name)
        if module is not None:
            _record_module(module)


def _record_support(module: types.ModuleType) -> None:
    """A support module: its attributes, its classes' attributes, its checks, its exports."""
    _record_module(module)
    for name, value in list(vars(module).items()):
        if isinstance(value, type) and value.__module__ == module.__name__:
            _record_class(value, f"{module.__name__}.{name}")
        elif name == "CHECKS" and isinstance(value, dict):
            label = f"{module.__name__}.CHECKS"
            _RECORDS[label] = _Record(label, _DictOwner(value))
    for name in getattr(module, "__all__", ()):
        if name in vars(module) and callable(vars(module)[name]):
            _CHECKERS.setdefault(name, {})[module.__name__] = vars(module)[name]


class _DictOwner:
    """Lets a plain dict (a facade's CHECKS) be recorded like a namespace."""

    def __init__(self, mapping: dict):
        self.__dict__ = mapping


def _record_top_level(name: str, module: types.ModuleType) -> None:
    if name == "torch":
        _record_torch(module)
    elif name == "numpy":
        _record_numpy(module)
    elif name.startswith("support.") and name != __name__:
        _record_support(module)


class _RecordingLoader:
    """Runs a module's import as usual, then records it."""

    def __init__(self, loader, name: str):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _record_top_level(self._name, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Recorder(importlib.abc.MetaPathFinder):
    """Watches imports of support's modules, torch and numpy, to record them once loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if not (fullname.startswith("support.") or fullname in WATCHED_TOP_LEVEL):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RecordingLoader(spec.loader, fullname)
        return spec


def _install() -> None:
    _record_builtins()
    for name in WATCHED_TOP_LEVEL:
        if name in sys.modules:
            _record_top_level(name, sys.modules[name])
    for name, module in list(sys.modules.items()):
        if name.startswith("support.") and name != __name__ and module is not None:
            _record_support(module)
    sys.meta_path.insert(0, _Recorder())


# --------------------------------------------------------------------------- verifying


def tampered() -> list[str]:
    """What was replaced since the snapshot (empty when nothing was)."""
    found = []
    for record in list(_RECORDS.values()):
        found += record.problems()
    for name, module in _MODULES.items():
        if sys.modules.get(name) is not module:
            found.append(f"sys.modules[{name!r}] was replaced")
    return found


def _guard(original):
    """``original`` (a checker) that verifies integrity again once it returns."""
    if id(original) in _GUARDS:
        return _GUARDS[id(original)]

    @functools.wraps(original)
    def guarded(*args, **kwargs):
        problems = tampered()
        if problems:
            raise IntegrityError(_message(problems, "since the setup cell ran"))
        result = original(*args, **kwargs)
        problems = tampered()
        if problems:
            raise IntegrityError(_message(problems, "while this check ran your code"))
        return result

    _GUARDS[id(original)] = guarded
    return guarded


def _rebind_checkers(namespace: dict) -> list[str]:
    """Bind the course's checkers (guarded) in ``namespace``; names that had been redefined."""
    redefined = []
    for name, by_module in _CHECKERS.items():
        if name not in namespace or not name.startswith("test_"):
            continue
        originals, current = list(by_module.values()), namespace[name]
        genuine = [o for o in originals if current is o or current is _GUARDS.get(id(o))]
        original = genuine[0] if genuine else originals[-1]
        if not genuine:
            redefined.append(name)
        namespace[name] = _guard(original)
    return redefined


def _message(problems: list[str], when: str) -> str:
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if
                                       len(problems) > 5 else "")
    return (f"the hidden tests cannot be trusted in this notebook: {when}, {shown}. The "
            f"checks rely on these objects, so this cell scores 0. Do not assign to "
            f"attributes of torch, numpy, builtins or the course's support package.")


def verify_integrity(namespace: dict | None = None) -> None:
    """Start of a hidden-test block: raise IntegrityError if something the checks rely on
    was replaced since the setup cell; bind the real checkers (guarded) in the notebook."""
    problems = tampered()
    if problems:
        raise IntegrityError(_message(problems, "since the setup cell ran"))
    if namespace is None:
        namespace = _getframe(1).f_globals
    redefined = _rebind_checkers(namespace)
    if redefined:
        print(f"note: the notebook redefined {', '.join(redefined)}; the hidden tests use "
              f"the course's own checker", flush=True)


_install()
