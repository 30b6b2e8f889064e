"""The course pipeline: source -> release -> submitted -> autograded / grades -> feedback.

A package per verb, each with ``python -m course.<verb>`` as its entry point:
:mod:`course.release` (``make release``), :mod:`course.grade` (the grading verb: ``make
grade``, and the engine under ``nbgrader autograde``), :mod:`course.autograde` (nbgrader's
plug-ins, ``make autograde``), :mod:`course.sandbox` (where student code runs),
:mod:`course.export` (LMS sheet, Gradescope), :mod:`course.similarity`, :mod:`course.bench`.
Shared by all: :mod:`course.config` (settings) and :mod:`course.notebooks` (reading nbgrader
notebooks).  Imports go one way: a verb imports ``config``, ``notebooks``, ``sandbox`` and
``grade``; ``grade`` imports only ``config``, ``notebooks`` and ``sandbox``.
"""
