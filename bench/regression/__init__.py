"""``python -m bench check`` and its A/A studies, in parts.

* ``pairs``: what a paired check measured: per pair of runs, the log change of every case,
  backend, speedup and the harness (CI's check, ``--against REV``);
* ``thresholds``: how far each quantity moves on unchanged code, read from and written to the
  thresholds files of both rules (in one place);
* ``verdicts``: the typed verdict every rule returns, and the exit codes;
* ``judge``: the decision rules, pure functions of measurements and thresholds: the paired rule
  (CI's) and the stored-baseline rule (``--baseline``);
* ``render``: the tables and summary lines a user reads;
* ``against``, ``baseline``: the two ways to get what is judged (time the known-good revision
  beside the working tree; or read committed runs), each composing the parts above;
* ``noise``, ``paired_study``: the A/A studies that size the thresholds (``bench noise``).
"""
