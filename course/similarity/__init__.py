"""``make similarity``: pairs of students whose answers look alike, for a TA to read.

* :mod:`course.similarity.compare` -- the comparison (``python -m course.similarity``, this
  package's ``__main__``);
* :mod:`course.similarity.index` -- which pairs are worth comparing (a fingerprint index),
  and which fingerprints most of the class shares;
* :mod:`course.similarity.report` -- its CSV and HTML reports.
"""
