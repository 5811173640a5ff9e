"""What a highlighted table row means: one flag, one colour per meaning, in the HTML and the PDF
(the Markdown has no colours: a flagged row's first cell ends with its flag's name in brackets).

A row is flagged by its worst case: a wrong result outranks a noisy one, which outranks a case
that did not run. In a table with a column per machine, a rung one machine did not run is said in
its cell ("not measured", "skipped") and does not colour the row: the row's other cells ran.
"""

from __future__ import annotations

WRONG = "wrong"  # failed verification, suspect, or a claim that does not hold
NOISY = "noisy"  # rounds spread by more than stats.NOISY of their median
ABSENT = "absent"  # not measured or skipped
SEVERITY = (WRONG, NOISY, ABSENT)  # worst first

COLOURS = {WRONG: "#fcdcd8", NOISY: "#fff0d6", ABSENT: "#ececec"}
MEANINGS = {WRONG: "failed, suspect or does not hold", NOISY: "noisy rounds", ABSENT: "not measured or skipped"}
NAMES = {WRONG: "red", NOISY: "amber", ABSENT: "grey"}  # the colours as a reader names them


def of_case(case) -> str:
    """A case's flag: ``""`` for a clean measured case."""
    if case is None or (not case.ok and case.status != "failed"):
        return ABSENT
    if case.status == "failed" or case.suspect:
        return WRONG
    return NOISY if case.noisy else ""


def worst(flags) -> str:
    """The most severe of ``flags`` (``""`` where none is set)."""
    found = set(flags)
    return next((f for f in SEVERITY if f in found), "")


def legend() -> str:
    """The colours' meanings in one line, for the first page's glossary."""
    return ("row colours (in the Markdown, the flag in brackets after a row's first cell): "
            + "; ".join(f"{NAMES[flag]} [{flag}], {MEANINGS[flag]}" for flag in SEVERITY) + ".")
