"""An IPython kernel inside the sandbox: what ``nbgrader autograde`` runs student code in.

The kernelspec ``course-sandbox`` (``.venv/share/jupyter/kernels/course-sandbox``, installed
by ``make venv``: ``python -m course.autograde.kernel --install --prefix .venv``) starts

    python -m course.autograde.kernel -f {connection_file}

which runs ``python -m ipykernel_launcher -f {connection_file}`` through
:func:`course.sandbox.launcher.run_sandboxed`:

* its working directory is the kernel's, which nbgrader sets to the student's autograded
  folder (``autograded/<student>/<assignment>``): the one course folder it sees, and
  writable.  The notebooks in it are hidden (seen as unreadable): during autograde they
  hold the hidden tests;
* the kernel talks to nbgrader over ZMQ's ``ipc`` transport: the sandbox has no network,
  so the TCP loopback of the parent is out of reach.  The sockets are
  ``<runtime>/kernel-<random>-ipc-<port>`` (:class:`course.autograde.preprocessors.SandboxKernelManager`,
  which nbgrader_config.py selects).  The kernel sees, at the runtime folder's path, a
  private folder ``<runtime>/<connection file name>-sandbox`` holding a copy of its
  connection file and its sockets; outside, a symlink at each socket path points into it.
  No other file of the runtime folder (other kernels' connection files) is visible to it;
  ``make autograde`` also gives each run a runtime folder of its own;
* in the sandbox's fallback (no namespaces, no bind mounts) the private folder is a
  temporary folder of its own that the sandbox's user can reach, and the connection file's
  copy there names it; the notebooks stay unreadable (owned by the grader, mode 0600, for
  the run); its seccomp filter lets the kernel make and listen on unix stream sockets,
  ZMQ's ``ipc`` transport, but connect to none (:mod:`course.sandbox.network`);
* interrupts arrive as messages (``interrupt_mode: message``): the kernel runs in a session
  of its own, out of reach of a signal to our process group.

When the kernel ends, its private folder and symlinks are removed.  Source notebooks
(``make release``) keep running in the plain ``python3`` kernel.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from course.config import THREAD_VARIABLES, load_sandbox_config
from course.sandbox.launcher import Spec, run_sandboxed, sandbox_available

KERNEL_NAME = "course-sandbox"
KEPT_ENV = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "PYTHONPATH", "PYTHONHASHSEED",
            "NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES", *THREAD_VARIABLES, "MPLBACKEND",
            "TQDM_DISABLE", "JPY_SESSION_NAME")


def kernelspec() -> dict:
    """kernel.json of the sandboxed kernel ("python" is replaced by jupyter_client with the
    interpreter that runs nbgrader, i.e. the virtual environment's)."""
    return {
        # -I: the working directory is the student's folder, where nbgrader also copies
        # the files they submitted: a submitted course/autograde/kernel.py must not load here
        "argv": ["python", "-I", "-m", "course.autograde.kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (course sandbox)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }


def install(prefix: str | Path) -> Path:
    """Write the kernelspec under ``<prefix>/share/jupyter/kernels``; returns kernel.json."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    path.write_text(json.dumps(kernelspec(), indent=1) + "\n")
    return path


def kernel_environment(runtime: str) -> dict:
    """A small environment: nothing of the TA's (tokens, keys) reaches student code.

    JPY_PARENT_PID is 1: in its own pid namespace the kernel's parent is pid 1, and
    ipykernel's parent poller, watching the pid nbgrader has outside, would stop it.
    """
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("LC_")}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update({
        "JPY_PARENT_PID": "1",  # no parent poller, no "Ctrl-C will not work" banner
        "JUPYTER_RUNTIME_DIR": runtime, "IPYTHONDIR": os.path.join(runtime, ".ipython"),
        "MPLCONFIGDIR": os.path.join(runtime, ".matplotlib"), "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        # a notebook's last cell, check_my_work() (course.check), does nothing while graded
        "COURSE_GRADING": "1",
    })
    return env


def _matplotlib_font_cache(target: Path) -> None:
    """Copy this user's matplotlib font list, so the kernel does not rebuild it (seconds)."""
    target.mkdir(exist_ok=True)
    home = Path(os.path.expanduser("~"))
    places = [os.environ.get("MPLCONFIGDIR"), os.environ.get("XDG_CACHE_HOME"),
              home / ".cache" / "matplotlib", home / ".matplotlib"]
    for place in filter(None, places):
        for font_list in glob.glob(os.path.join(str(place), "fontlist-*.json")) + \
                glob.glob(os.path.join(str(place), "matplotlib", "fontlist-*.json")):
            shutil.copy2(font_list, target / os.path.basename(font_list))
            return


def socket_paths(info: dict) -> list[str]:
    """The IPC socket paths jupyter_client uses for a connection file's ports."""
    ports = [info[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port",
                               "hb_port") if k in info]
    return [f"{info['ip']}-{port}" for port in ports]


def launch(connection_file: str, kernel_args: list[str]) -> int:
    """Run the kernel of ``connection_file`` in the sandbox; returns its exit status."""
    connection_file = os.path.abspath(connection_file)
    with open(connection_file) as handle:
        info = json.load(handle)
    if info.get("transport") != "ipc" or not os.path.isabs(info.get("ip", "")):
        sys.exit("course.autograde.kernel: the sandboxed kernel has no network: it needs "
                 "ZMQ over IPC at an absolute path (course.autograde.preprocessors.SandboxKernelManager, "
                 "or c.KernelManager.transport = 'ipc' and an absolute c.KernelManager.ip)")
    sockets = socket_paths(info)
    config = load_sandbox_config()
    bwrap = sandbox_available(config)
    where = os.path.dirname(info["ip"])  # with bubblewrap the kernel sees its folder here
    stem = os.path.splitext(os.path.basename(connection_file))[0]
    os.makedirs(where, mode=0o700, exist_ok=True)
    if bwrap:
        private = os.path.join(where, stem + "-sandbox")
        shutil.rmtree(private, ignore_errors=True)
        os.mkdir(private, 0o700)
    else:  # the fallback binds nothing: a folder of its own that its user can reach
        private = tempfile.mkdtemp(prefix="kernel-")
    seen = where if bwrap else private
    links = []
    try:
        inside = os.path.join(seen, os.path.basename(connection_file))
        info["ip"] = os.path.join(seen, os.path.basename(info["ip"]))
        with open(os.path.join(private, os.path.basename(connection_file)), "w") as handle:
            json.dump(info, handle)
        for path in sockets:
            if os.path.islink(path) or os.path.exists(path):
                os.unlink(path)
            os.symlink(os.path.join(private, os.path.basename(path)), path)
            links.append(path)
        _matplotlib_font_cache(Path(private) / ".matplotlib")
        cwd = os.getcwd()
        spec = Spec([sys.executable, "-m", "ipykernel_launcher", "-f", inside,
                     "--HistoryManager.hist_file=:memory:", *kernel_args],
                    workdir=cwd, rw=[(private, seen)],
                    hide=sorted(glob.glob(os.path.join(glob.escape(cwd), "*.ipynb"))),
                    env=kernel_environment(seen), limits=config,
                    unix_listen=True)  # the fallback: ZMQ binds its IPC sockets
        return run_sandboxed(spec, "bwrap" if bwrap else "fallback")
    finally:
        for path in links:
            if os.path.islink(path):
                os.unlink(path)
        shutil.rmtree(private, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.autograde.kernel",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("-f", dest="connection_file", help="the kernel's connection file")
    parser.add_argument("--install", action="store_true",
                        help=f"write the {KERNEL_NAME} kernelspec and exit")
    parser.add_argument("--prefix", default=sys.prefix,
                        help="where --install writes (default: this environment)")
    args, rest = parser.parse_known_args(argv)
    if args.install:
        print(f"installed {install(args.prefix)}")
        return
    if not args.connection_file:
        parser.error("-f CONNECTION_FILE is required")
    status = launch(args.connection_file, rest)
    sys.exit(status if 0 <= status < 256 else 1)


if __name__ == "__main__":
    main()
