"""One error model for everything a user can get wrong.

A `Diagnostic` says what is wrong (a stable `code` and a `message`) and where
(`file`, 1-based `line`, `column` name or plan key), and how bad it is: an
`error` stops a run (unless `--skip-invalid` for data rows), a `warning` is
shown and listed but never stops anything unless `--strict` makes it an error
(`as_error`). Stages collect diagnostics
and return them; only the CLI decides how to print them and which exit code
they mean. `InputError` carries a list of diagnostics across a stage boundary
when a stage cannot go on at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int | None
    column: str | None
    code: str
    message: str
    severity: str = ERROR  # ERROR | WARNING

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        column = f"{self.column}: " if self.column else ""
        marker = "warning: " if self.severity == WARNING else ""
        return f"{where}: {marker}{self.code} {column}{self.message}"

    @property
    def is_warning(self) -> bool:
        return self.severity == WARNING

    def as_error(self) -> Diagnostic:
        """This problem as an error (`--strict`)."""
        return replace(self, severity=ERROR)

    def as_dict(self) -> dict:
        return asdict(self)


class InputError(Exception):
    """Bad input or usage: exit code 2. Carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UsageError(InputError):
    """A problem with how a command was called (an unknown rep, a period of the wrong kind, a plan
    revision that git cannot find): exit code 2, one diagnostic whose `file` is the option or
    argument at fault."""

    def __init__(self, where: str, code: str, message: str):
        super().__init__(Diagnostic(where, None, None, code, message))


class ReconciliationError(Exception):
    """The run's own invariants failed: exit code 1. A bug, not a user mistake."""


class MachineError(Exception):
    """The machine refused: a write failed (disk full, a file-size limit, permissions, `--out`
    not a folder). Exit code 3, shown as one line with the path and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    @classmethod
    def from_os(cls, error: OSError, fallback: str) -> "MachineError":
        """From an OSError: the file it names (else `fallback`) and its reason in words."""
        name = error.filename
        path = fallback if name is None else (name.decode(errors="replace") if isinstance(name, bytes) else str(name))
        return cls(path, error.strerror or str(error))
