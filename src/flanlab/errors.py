"""User-facing errors.

A `FlanlabError` is a mistake the user can fix (bad path, unknown name, invalid config). The CLI prints
its message in one line and exits with code 2; `--debug` shows the traceback. Anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FlanlabError(Exception):
    """An error caused by user input; its message names the culprit."""

    exit_code = 2


class UnknownNameError(FlanlabError, KeyError):
    """An unknown task, cluster, template, model alias, ... with close-match suggestions."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        if not close and len(known) <= 12:
            hint = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")
        self.kind, self.name = kind, name

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]
