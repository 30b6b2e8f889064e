"""The gradebook entry ``nbgrader autograde`` needs, recorded from source/ when it is missing.

nbgrader grades only an assignment that ``nbgrader generate_assignment`` recorded in the
gradebook: its notebooks and their cells (points, and the test cells' source and checksums,
which autograde restores an edited test cell from).  ``gradebook.db`` is git-ignored, so a
TA's fresh clone, where nobody ran ``make release``, has none, and stock nbgrader stops with
"No assignment with ID ... exists in the database".  :func:`prepare_autograde` (nbgrader's
pre-convert hook, nbgrader_config.py) and ``make autograde`` (:mod:`course.autograde.parallel`)
first call :func:`ensure_assignment`, which records a missing assignment exactly as
``make release`` does: ``nbgrader generate_assignment`` on source/<a>/, with its stub written
to a scratch folder, so the committed release/<a>/<a>.ipynb is never touched.  An assignment
the gradebook already has (after ``make release``) is left as it is.
"""

from __future__ import annotations

import contextlib

import logging
import os
import tempfile
from pathlib import Path


log = logging.getLogger(__name__)


def gradebook_url(root: Path) -> str:
    """The course's gradebook, as nbgrader_config.py configures it (nbgrader's default:
    ``<root>/gradebook.db``)."""
    from course.config import nbgrader_setting

    return nbgrader_setting("CourseDirectory", "db_url", root) \
        or f"sqlite:///{(root / 'gradebook.db').resolve()}"


def source_notebooks(root: Path, assignment: str) -> set[str]:
    """The names of the assignment's source notebooks (nbgrader's notebook ids)."""
    return {p.stem for p in (root / "source" / assignment).glob("*.ipynb")}


def course_id_of(root: Path) -> str:
    """The course id nbgrader_config.py gives (this repository's, when ``root`` has none)."""
    from course.config import ROOT, nbgrader_setting

    config = root if (Path(root) / "nbgrader_config.py").is_file() else ROOT
    return nbgrader_setting("CourseDirectory", "course_id", config) or "default_course"


def recorded_notebooks(path: Path, assignment: str) -> set[str] | None:
    """The notebooks of ``assignment`` in the SQLite gradebook at ``path``, read with
    :mod:`sqlite3` from nbgrader's tables (``assignment``, ``notebook``), as
    ``Gradebook.find_assignment(...).notebooks`` reads them, without importing nbgrader and
    SQLAlchemy: a grading run asks this while its workers grade, where that import would
    take the CPU from them.  None when the file does not have nbgrader's tables."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT notebook.name FROM notebook JOIN assignment "
                              "ON notebook.assignment_id = assignment.id "
                              "WHERE assignment.name = ?", (assignment,)).fetchall()
    except sqlite3.Error:
        return None
    return {name for (name,) in rows}


def missing_notebooks(root: Path, assignment: str, db_url: str | None = None,
                      source: str = "source") -> set[str]:
    """The source notebooks of ``assignment`` that the course's gradebook (or ``db_url``'s)
    lacks (all of them when there is no gradebook, or it lacks the assignment)."""
    wanted = {p.stem for p in (root / source / assignment).glob("*.ipynb")}
    url = db_url or gradebook_url(root)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            return wanted  # opening it would create an empty gradebook
        recorded = recorded_notebooks(path, assignment)
        if recorded is not None:
            return wanted - recorded
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url, course_id_of(root)) as gb:
        try:
            recorded = {nb.name for nb in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            return wanted
    return wanted - recorded


def ensure_assignment(root: str | Path, assignment: str, db_url: str | None = None,
                      source: str = "source") -> bool:
    """Record ``assignment`` in the course's gradebook (``db_url``: another one) from
    ``<root>/<source>/``, as ``nbgrader generate_assignment`` does, when the gradebook lacks
    it or one of its notebooks; True when it recorded it.  release/ is not touched (the
    stub goes to a scratch folder)."""
    root = Path(root).resolve()
    if not (root / source / assignment).is_dir():
        raise FileNotFoundError(f"no assignment {assignment!r}: "
                                f"{root / source / assignment} does not exist")
    missing = missing_notebooks(root, assignment, db_url, source)
    if not missing:
        return False
    from course.gradebook.record import open_gradebook  # nbgrader's API: only now
    from course.release.build import generate_assignment

    log.warning("%s: not in the gradebook %s: recording %s/%s in it as nbgrader "
                "generate_assignment does (release/ untouched)", assignment,
                db_url or gradebook_url(root), source, assignment)
    # a new gradebook made here, with nbgrader's API (nbgrader's command would run the
    # `alembic` command for it, which an environment may lack on PATH)
    open_gradebook(db_url or gradebook_url(root), course_id_of(root)).close()
    with tempfile.TemporaryDirectory(prefix="generate-assignment-") as scratch:
        generate_assignment(root, assignment, release_dir=Path(scratch), db_url=db_url,
                            source_dir=None if source == "source" else source)
    still = missing_notebooks(root, assignment, db_url, source)
    if still:
        raise RuntimeError(f"{assignment}: nbgrader generate_assignment did not record "
                           f"{sorted(still)} in {db_url or gradebook_url(root)}")
    return True


def prepare_autograde(assignment: str, student: str, notebooks=(), **_) -> None:
    """nbgrader pre-convert hook (autograde), run before each student: the assignment in
    the gradebook (:func:`ensure_assignment`), then the student's submission folder cleared
    of links and special files (:func:`~course.autograde.preprocessors.drop_submitted_links`).

    nbgrader runs hooks in the course root and passes the ``--student`` option as
    ``student`` (``*`` when it grades everyone): the student's folder is the one holding
    ``notebooks``.  nbgrader logs a failing hook only at INFO level and goes on (its next
    step then fails with "No assignment ... in the database"): the reason is logged here as
    an error first.
    """
    from course.autograde.preprocessors import drop_submitted_links

    root = Path.cwd()
    try:
        ensure_assignment(root, assignment)
    except Exception as error:
        log.error("%s: could not record it in the gradebook from source/: %s: %s",
                  assignment, type(error).__name__, error)
        raise
    folders = {Path(os.path.abspath(nb)).parent for nb in notebooks}  # links not followed
    for folder in sorted(folders) or [root / "submitted" / student / assignment]:
        drop_submitted_links(assignment, folder.parent.name, root=str(root))
