"""Meters read from /proc and the file system, for the watchdogs that stop a student
(:mod:`course.grade.supervisor` per student process, :mod:`course.sandbox.launcher` per sandbox) and for
the warm workers (:mod:`course.grade.warm_worker`) and the benchmark: the resident memory of a
process tree, its processes, and the disk space of folders."""

from __future__ import annotations

import glob
import os
import stat

FILE_BLOCK = 4096  # each file or folder counts at least one block: empty files fill a disk too


def folder_bytes(folders, limit: int | None = None) -> int:
    """Disk space that the files and folders under ``folders`` use: their allocated blocks,
    at least :data:`FILE_BLOCK` each (a million empty files fill a disk's inodes), links
    not followed.  The walk stops once it passes ``limit``: a student who made millions of
    files costs the watchdog no more than the limit's worth of them."""
    total = 0
    todo = [str(folder) for folder in folders]
    while todo:
        try:
            entries = os.scandir(todo.pop())
        except OSError:
            continue  # removed meanwhile; or made unreadable, which stops only a non-root TA
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += max(info.st_blocks * 512, FILE_BLOCK)
                if stat.S_ISDIR(info.st_mode):
                    todo.append(entry.path)
        if limit is not None and total > limit:
            break
    return total


def tree_resident_bytes(pid: int, limit: int | None = None) -> int:
    """Resident memory of a process and all its descendants (Linux /proc; 0 elsewhere).

    The sum of their RSS counts memory that forked processes share (copy-on-write) once per
    process; when that sum passes ``limit``, the proportional set sizes (shared pages split
    between their users, /proc/<pid>/smaps_rollup) are added up instead: slower, exact.
    """
    tree = descendants(pid)
    page = os.sysconf("SC_PAGE_SIZE")
    rss = {p: resident_pages(p) * page for p in tree}
    total = sum(rss.values())
    if limit is None or total <= limit:
        return total
    return sum(_proportional_bytes(p, rss[p]) for p in tree)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from each thread's /proc/<pid>/task/<tid>/children
    (a few small reads: the watchdogs call this several times a second).  Without that file
    (kernels built without it) every process's parent is read from /proc instead."""
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        return _descendants_by_scan(pid)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for children in glob.glob(f"/proc/{current}/task/*/children"):
            try:
                with open(children) as handle:
                    todo += [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue  # the thread or process ended meanwhile
    return tree


def _descendants_by_scan(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as handle:
                text = handle.read()
            parent = int(text[text.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(path.split("/")[2]))
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def resident_pages(pid: int) -> int:
    """Resident pages of one process (second field of /proc/<pid>/statm); 0 once it ended."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _proportional_bytes(pid: int, fallback: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0  # it has exited since: it holds nothing
    except (OSError, ValueError, IndexError):
        pass
    return fallback
