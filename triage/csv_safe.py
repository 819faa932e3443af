"""CSV cells a spreadsheet will not run: a text cell that starts like a formula gets a leading apostrophe.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and some treat a
leading tab or carriage return the same way), so a paper titled `=HYPERLINK(...)` would become a live link or a
command. OWASP's advice is to prefix such cells with `'`. Numbers are never touched, so they stay numbers.

The rule is reversible (`csv_value` undoes it), which `triage report` relies on when it reads a CSV back: a text
that itself starts with apostrophes before a formula character gets one more.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = "=+-@\t\r"
_GUARDED = re.compile(r"'*[=+\-@\t\r]")


def csv_cell(value: Any) -> Any:
    """A cell value to write: text that a spreadsheet would evaluate gets a leading `'`; anything else as it is."""
    if isinstance(value, str) and _GUARDED.match(value):
        return "'" + value
    return value


def csv_value(value: Any) -> Any:
    """A cell value read back: the `'` that `csv_cell` added is removed."""
    if isinstance(value, str) and value.startswith("'") and _GUARDED.match(value):
        return value[1:]
    return value
