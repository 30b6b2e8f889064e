"""What a sandbox leaves behind, made safe for the root processes that later copy and
chmod its folders (nbgrader follows symlinks): links, FIFOs, sockets and devices removed,
the tree handed back to its owner (:func:`sanitize`); and a tree handed to a sandbox's user
before a run (:func:`hand_over`).  Used by :mod:`course.sandbox.launcher`, the warm workers
(:mod:`course.grade.warm_worker`) and nbgrader's hooks (:mod:`course.autograde.preprocessors`); and
files closed to other users (:func:`close_to_others`), which the fallback's user is."""

from __future__ import annotations

import os
import stat


def _walk(root: str):
    """Every path under ``root`` (itself first), without following symlinks."""
    yield root
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            yield os.path.join(dirpath, name)


def hand_over(root: str, uid: int, gid: int) -> None:
    """Give a folder tree to a user (lchown: symlinks are not followed)."""
    for path in _walk(root):
        try:
            os.chown(path, uid, gid, follow_symlinks=False)
        except OSError:
            pass


def sanitize(root: str, owner: tuple[int, int] | None = None) -> list[str]:
    """Remove what a sandbox left in ``root`` that is not a plain file or folder (symlinks,
    FIFOs, sockets, devices), and give the tree back to ``owner``; returns what was removed.

    Root processes later copy and chmod these folders (nbgrader follows symlinks): a link
    to ``/work/course/source`` left here would otherwise leak it into the feedback.
    """
    removed = []
    for path in list(_walk(root)):
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
        elif owner is not None:
            try:
                os.chown(path, owner[0], owner[1], follow_symlinks=False)
                if stat.S_ISDIR(mode):  # a folder the sandbox made unreadable (chmod 000)
                    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                    try:
                        os.fchmod(fd, stat.S_IMODE(mode) | 0o700)
                    finally:
                        os.close(fd)
            except OSError:
                pass
    return removed


def close_to_others(paths) -> list[str]:
    """Take every other user's access away from ``paths`` (``o-rwx``; a folder's contents
    then too), links not followed; returns the paths whose mode changed."""
    changed = []
    for path in paths:
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if os.path.islink(path) or not mode & 0o007:
                continue
            os.chmod(path, mode & ~0o007)
            changed.append(str(path))
        except OSError:
            continue
    return changed
