"""Run a command where new namespaces are refused the way Docker's default seccomp profile
refuses them (a container without CAP_SYS_ADMIN, as Gradescope runs its autograder):

    python tests/sandbox/like_docker.py COMMAND ARGS...

installs, in this process only (inherited by everything it then runs; nothing of the
machine changes), a seccomp filter: ``unshare`` and ``setns`` -> EPERM, ``clone`` with any
``CLONE_NEW*`` flag -> EPERM, ``clone3`` -> ENOSYS (so that glibc falls back to ``clone``,
as it does in Docker), then execs COMMAND.  bubblewrap then fails as it does on Gradescope
("Creating new namespace failed: Operation not permitted") and the sandbox runs its
fallback.
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp as seccomp

CLONE_NEW = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
             "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000,
             "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
             "CLONE_NEWNET": 0x40000000}


def install() -> None:
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for call in ("unshare", "setns"):
        rules.add_rule(refuse, call)
    for flag in CLONE_NEW.values():
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    if os.geteuid() == 0:  # Docker sets no no_new_privs: root keeps setuid working
        rules.set_attr(seccomp.Attr.CTL_NNP, 0)
    rules.load()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    install()
    os.execvp(sys.argv[1], sys.argv[1:])
