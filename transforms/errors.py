"""Errors raised by ngss.

Row-level problems are data (rows in ``ops.quarantine_row``), never exceptions. The classes here
are for problems that stop a whole step: a broken registry, a file that cannot be loaded at all,
a publish that would break the warehouse's invariants.
"""

from __future__ import annotations


class NgssError(Exception):
    """Base class of every error ngss raises on purpose."""


class ConfigError(NgssError, ValueError):
    """The source registry or reference configuration is invalid.

    Attributes:
        problems: every problem found, each as ``(file, key, message)``; the registry is checked
            whole, so one error carries all problems at once.
    """

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        lines = [f"{file}: {key}: {message}" for file, key, message in problems]
        super().__init__(f"{len(problems)} configuration problem(s):\n  " + "\n  ".join(lines))


class FileRejected(NgssError):
    """A file failed a file-level rule; nothing from it is published.

    Attributes:
        file: the file name as received.
        rule_id: the file-level rule broken (e.g. ``file.required_columns``).
        detail: plain-English explanation naming the row and column where known.
        line: the physical source line (1-based) where the problem was found, if any.
        column: the source column involved, if any: a header name, ``#<n>`` (the n-th field of
            the record, 1-based) or ``character <n>`` (position in the line, where the file
            could not be split into fields).
    """

    def __init__(
        self,
        file: str,
        rule_id: str,
        detail: str,
        line: int | None = None,
        column: str | None = None,
    ):
        self.file = file
        self.rule_id = rule_id
        self.detail = detail
        self.line = line
        self.column = column
        where = file
        if line is not None:
            where += f", line {line}"
        if column is not None:  # a header name, or a position: "#3" (field 3), "character 17"
            where += (
                f", column {column}"
                if column.startswith(("#", "character "))
                else f", column {column!r}"
            )
        super().__init__(f"{where}: [{rule_id}] {detail}")


class PublishError(NgssError):
    """Publishing a load would break a warehouse invariant (e.g. rows read != published +
    quarantined); the transaction is rolled back and the previous partition stays."""
