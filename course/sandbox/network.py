"""The fallback's network cut: a seccomp filter, installed in the sandboxed process before
its code runs, that refuses new sockets (:mod:`course.sandbox.launcher` uses it wherever
bubblewrap cannot make a network namespace, e.g. in Docker, where Gradescope grades).

It needs no privileges (``PR_SET_NO_NEW_PRIVS``, then the filter, after the process has
become the sandbox's user) and is inherited by every process the sandboxed one starts, across
``exec``.  Built with libseccomp (Debian/Ubuntu ``libseccomp2``, present wherever ``apt`` is)
through ``pyseccomp`` (PyPI, a ctypes binding API-compatible with libseccomp's own Python
bindings, which are not on PyPI): libseccomp, not hand-assembled BPF, checks the architecture
(a 32-bit or x32 system call, a way around a 64-bit filter, kills the process) and compiles
the rules.

Refused (``EACCES``, ``PermissionError`` in Python):

* ``socket()`` of every family: internet (``AF_INET``, ``AF_INET6``), unix, ``AF_PACKET``,
  everything else; ``AF_NETLINK`` (the machine's interfaces and routes) with
  ``EOPNOTSUPP``, which glibc's ``getifaddrs`` and libzmq take for "no interfaces" (a
  refusal makes libzmq abort the process); ``connect()``, on any socket;
* ``socketpair()`` of any family but ``AF_UNIX``: a unix socket pair is allowed, its two ends
  reach each other only (``multiprocessing.Pipe``);
* ``io_uring_setup/enter/register`` (``EPERM``): io_uring opens and connects sockets
  without the ``socket`` / ``connect`` system calls;
* ``ptrace``, ``process_vm_readv/writev``, ``pidfd_getfd`` (``EPERM``): no reading another
  process's memory or taking its sockets.

Descriptors inherited from the grader keep working: the student process's event pipe, and
a warm worker's control socket (a ``socketpair`` the grader made before the sandbox started,
:mod:`course.grade.warm_worker`).  ``unix_listen``, for nbgrader's sandboxed kernel only
(:mod:`course.autograde.kernel`, ZMQ over IPC: the kernel binds its own unix sockets, and
nbgrader connects to them from outside): ``AF_UNIX`` stream sockets may be made, bound and
listened on; ``connect()`` stays refused, and so do unix datagram sockets (``sendto`` with an
address needs no ``connect``), so the kernel can reach no socket of anyone else.
"""

from __future__ import annotations

import ctypes
import errno
import socket

PR_SET_NO_NEW_PRIVS = 38
REFUSED = errno.EACCES
FAMILIES = 64  # address families 0..63 (Linux has 46); any higher one is refused as well
OTHER_FAMILIES = [f for f in range(FAMILIES) if f not in (socket.AF_UNIX, socket.AF_NETLINK)]


class SeccompUnavailable(RuntimeError):
    """The filter cannot be built or loaded here (no libseccomp, no seccomp in the kernel)."""


def _binding():
    """libseccomp's API: pyseccomp (ctypes), or the distribution's own ``seccomp`` module."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError, OSError) as first:  # RuntimeError: no libseccomp
        try:
            import seccomp  # python3-seccomp, libseccomp's own bindings
        except ImportError:
            raise SeccompUnavailable(
                f"cannot load libseccomp ({first}): apt-get install libseccomp2 and "
                f"pip install pyseccomp (requirements.txt)") from None
    return seccomp


def network_filter(unix_listen: bool = False):
    """The filter (a libseccomp ``SyscallFilter``, not loaded yet: :func:`load` does that in
    the sandboxed process); SeccompUnavailable when it cannot be built."""
    seccomp = _binding()
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        refuse, forbid = seccomp.ERRNO(REFUSED), seccomp.ERRNO(errno.EPERM)
        # netlink (the machine's interfaces and routes) answers "not supported": libzmq
        # and glibc's getifaddrs treat that as no such interface, a refusal as a crash
        rules.add_rule(seccomp.ERRNO(errno.EOPNOTSUPP), "socket",
                       seccomp.Arg(0, seccomp.EQ, socket.AF_NETLINK))
        rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.GE, FAMILIES))
        for family in OTHER_FAMILIES:
            rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.EQ, family))
        if unix_listen:
            rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_UNIX),
                           seccomp.Arg(1, seccomp.MASKED_EQ, 0xF, socket.SOCK_DGRAM))
        else:
            rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_UNIX))
        rules.add_rule(refuse, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        rules.add_rule(refuse, "connect")
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace",
                     "process_vm_readv", "process_vm_writev", "pidfd_getfd"):
            rules.add_rule(forbid, call)
    except OSError as error:  # a libseccomp too old for a rule, an unknown system call
        raise SeccompUnavailable(f"libseccomp cannot build the filter: {error}") from None
    return rules


def load(rules) -> None:
    """In the sandboxed process (a child, after it became the sandbox's user, before exec):
    no_new_privs, then the filter.  Raises OSError when the kernel refuses it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")
    rules.load()
