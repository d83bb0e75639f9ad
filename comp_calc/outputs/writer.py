"""Write one period's output folder, all at once or not at all.

A run renders every file to bytes first (`render_csv`, `render_json`), or to
pieces of bytes, or to something that writes itself into the open file
(`Streamed`: lines.csv, millions of lines, goes straight from its frames into
the file, never held whole as bytes); then `write_period` puts them in place:
everything is written and fsynced in a hidden temporary sibling folder, which
is then renamed to `OUT/<period>/`. Readers therefore see either no folder or
a complete one. A closed period is never overwritten unless asked (`force`),
and then it is replaced whole: the old folder is renamed aside, the new one
renamed in, and only then is the old one deleted.

A run that is killed (power loss, SIGKILL) can leave its hidden staging
folder behind: `.<period>.tmp-<pid>-<hex>` while filling, or
`.<period>.old-<pid>-<hex>` (the previous folder, renamed aside) in the
instant between the two renames of a forced replacement. The next write of
the same period cleans them up first (`clean_stale`): a staging folder whose
process is no longer running is deleted, and a folder renamed aside whose
replacement never arrived is renamed back, so a closed period is never lost.
Folders of runs still in progress (their process is alive) are left alone.

Files and folders are created owner-only (0o600 / 0o700): payouts are
personal data.

A write the machine refuses (disk full, a file-size limit, permissions)
raises its `OSError` with the file named by its final path (never a staging
name); the staging folder and any output folder the write created are removed
first, and a closed period being replaced is left as it was. An `out_root`
that is a file is refused up front with `MachineError` (`refuse_unwritable`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, BinaryIO, Protocol

import polars as pl

from comp_calc.errors import Diagnostic, InputError, MachineError
from comp_calc.outputs.csvfmt import format_frame, to_csv_bytes
from comp_calc.outputs.numbers import plain

__all__ = [
    "EXCEPTION_COLUMNS",
    "clean_stale",
    "exceptions_frame",
    "refuse_unwritable",
    "render_csv",
    "render_json",
    "safe_file_stem",
    "write_period",
]

FILE_MODE = 0o600
DIR_MODE = 0o700

EXCEPTION_COLUMNS = ("file", "line", "column", "code", "message", "severity")

# --------------------------------------------------------------------------
# rendering


def render_csv(df: pl.DataFrame, money: set[str], exact: set[str]) -> bytes:
    """`df` as CSV bytes in the SPEC number format (see `csvfmt`)."""
    return to_csv_bytes(format_frame(df, money, exact))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def render_json(obj: Any) -> bytes:
    """JSON bytes: sorted keys, 2-space indent, trailing newline, UTF-8.

    Decimals are written as strings in plain notation (`"1234.50"`, never
    `"1.2345E+3"`), so no amount goes through binary floating point.
    """
    text = json.dumps(
        obj,
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ": "),
        default=_json_default,
    )
    return (text + "\n").encode("utf-8")


def exceptions_frame(diags: list[Diagnostic]) -> pl.DataFrame:
    """Rows of `exceptions.csv`: `file, line, column, code, message, severity` (`error` or
    `warning`).

    Sorted by file, line, column, code (then message, severity); a problem with no line
    or column sorts before the numbered ones of the same file.
    """
    schema = {
        "file": pl.String,
        "line": pl.Int64,
        "column": pl.String,
        "code": pl.String,
        "message": pl.String,
        "severity": pl.String,
    }
    frame = pl.DataFrame(
        {name: [getattr(d, name) for d in diags] for name in EXCEPTION_COLUMNS},
        schema=schema,
    )
    return frame.sort(list(EXCEPTION_COLUMNS), nulls_last=False, maintain_order=True)


# --------------------------------------------------------------------------
# file names

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
)
STEM_MAX = 64
_EMPTY_STEM = "rep"


def safe_file_stem(rep_id: str) -> str:
    """A file-name stem for `rep_id` that cannot leave its folder or clash.

    Keeps `[A-Za-z0-9._-]`, turns anything else into `_`, drops leading dots,
    caps the length, steers clear of Windows device names, and always ends in
    `-` plus 8 hex digits of sha256(rep_id), so ids that read alike (`a/b`,
    `a_b`, `A_B`) still get different names, also on case-insensitive disks.
    """
    digest = hashlib.sha256(rep_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = _UNSAFE_CHARS.sub("_", rep_id).lstrip(".")
    base = base[:STEM_MAX].rstrip(".")
    if not base:
        base = _EMPTY_STEM
    if base.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        base = "_" + base
    return f"{base}-{digest}"


# --------------------------------------------------------------------------
# the period folder


def _check_name(name: str, what: str) -> tuple[str, ...]:
    """Split a relative POSIX file name into safe parts, or refuse it."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        raise ValueError(f"unsafe {what}: {name!r}")
    parts = tuple(name.split("/"))
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe {what}: {name!r}")
    return parts


class Streamed(Protocol):
    """A file's content that writes itself, in chunks, into a binary file object (`write_to`)."""

    def write_to(self, out: BinaryIO) -> None: ...


class _Descriptor:
    """The `write` of a binary file object, onto an open file descriptor. The first OSError is
    kept: a writer that calls `write` from native code (polars) re-raises it without its errno."""

    def __init__(self, fd: int):
        self.fd, self.error = fd, None

    def write(self, data: bytes) -> int:
        try:
            _write_all(self.fd, data)
        except OSError as e:
            self.error = e
            raise
        return len(data)

    def flush(self) -> None:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_file(path: Path, data: bytes | Iterable[bytes] | Streamed) -> None:
    """Write `data`, or its pieces in turn, or what it writes (`Streamed`), as a new file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        if hasattr(data, "write_to"):
            out = _Descriptor(fd)
            try:
                data.write_to(out)
            except Exception:
                if out.error is not None:  # the machine's refusal as it was, errno and all
                    raise out.error from None
                raise
        else:
            for piece in (data,) if isinstance(data, bytes) else data:
                _write_all(fd, piece)
        os.fsync(fd)
    except OSError as e:
        if e.filename is None and e.errno is not None:  # os.write and os.fsync do not say which file
            e.filename = str(path)
        raise
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def refuse_closed(out_root: Path, period_label: str, force: bool) -> None:
    """Raise `period-exists` now if `out_root/period_label` exists and not `force`: a long run
    learns before computing what `write_period` would refuse at the end."""
    target = Path(out_root) / period_label
    if _exists(target) and not force:
        raise _period_exists(target)


def refuse_unwritable(out_root: Path) -> None:
    """Raise `MachineError` now if `out_root`, or the nearest existing folder above it, is not a
    folder (`--out` naming a file): a long run learns before computing."""
    path = Path(out_root)
    for folder in (path, *path.parents):
        if _exists(folder):
            if not folder.is_dir():
                raise MachineError(str(folder), "is a file, not a folder")
            return


def _missing_folders(path: Path) -> list[Path]:
    """`path` and the folders above it that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if _exists(folder):
            break
        missing.append(folder)
    return missing


def _period_exists(target: Path) -> InputError:
    return InputError(
        Diagnostic(
            file=str(target),
            line=None,
            column=None,
            code="period-exists",
            message=(
                f"{target} already exists; it is a closed period. "
                "Use --force to replace it."
            ),
        )
    )


def _fill(folder: Path, files: Mapping[str, bytes | Iterable[bytes] | Streamed]) -> None:
    made: set[Path] = {folder}
    for name in sorted(files):
        parts = _check_name(name, "output file name")
        parent = folder
        for part in parts[:-1]:
            parent = parent / part
            if parent not in made:
                os.mkdir(parent, DIR_MODE)
                os.chmod(parent, DIR_MODE)
                made.add(parent)
        _write_file(parent / parts[-1], files[name])
    for directory in sorted(made, key=lambda p: len(p.parts), reverse=True):
        _fsync_dir(directory)


TMP_MARK = "tmp"  # `.<period>.tmp-<pid>-<hex>`: a folder being filled, or garbage being deleted
OLD_MARK = "old"  # `.<period>.old-<pid>-<hex>`: the previous folder during a forced replacement

# When this process started writing anything: a staging folder without a pid
# in its name (older releases) that is older than this cannot be ours.
_STARTED = time.time()


def _staging_name(out_root: Path, period_label: str, mark: str) -> Path:
    while True:
        candidate = out_root / f".{period_label}.{mark}-{os.getpid()}-{secrets.token_hex(4)}"
        if not _exists(candidate):
            return candidate


def _make_staging_dir(out_root: Path, period_label: str) -> Path:
    while True:
        candidate = _staging_name(out_root, period_label, TMP_MARK)
        try:
            os.mkdir(candidate, DIR_MODE)
        except FileExistsError:
            continue
        return candidate


def _aside_name(out_root: Path, period_label: str) -> Path:
    return _staging_name(out_root, period_label, OLD_MARK)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would end the process elsewhere; assume it runs
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else, or cannot be asked
        return True
    return True


def _is_stale(entry: os.DirEntry, suffix: str) -> bool:
    """Whether the staging folder `entry` (name ending in `suffix`) was left by a dead run."""
    pid_text, dash, _ = suffix.partition("-")
    if dash and pid_text.isdigit() and pid_text.isascii() and int(pid_text) > 0:
        pid = int(pid_text)
        return pid != os.getpid() and not _pid_alive(pid)
    try:
        return entry.stat(follow_symlinks=False).st_mtime < _STARTED
    except OSError:
        return False


def clean_stale_scratch(out_root: Path, prefix: str) -> None:
    """Delete the `<prefix><pid>-*` folders in `out_root` of processes that are gone (the
    scratch folders of killed streaming runs). Best effort."""
    try:
        entries = list(os.scandir(out_root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False) and _is_stale(entry, entry.name[len(prefix) :]):
            shutil.rmtree(entry.path, ignore_errors=True)


def clean_stale(out_root: Path, period_label: str) -> list[Path]:
    """Tidy what killed runs of `period_label` left in `out_root`; returns the paths handled.

    `.<period>.tmp-*` folders of processes that are gone are deleted. A
    `.<period>.old-*` folder of a process that is gone is the complete
    previous period folder, renamed aside just before a killed forced
    replacement: it is renamed back when `out_root/<period>` is missing, and
    deleted otherwise. Best effort: a folder that cannot be handled is left.
    """
    out_root = Path(out_root)
    target = out_root / period_label
    marks = {f".{period_label}.{mark}-": mark for mark in (TMP_MARK, OLD_MARK)}
    handled: list[Path] = []
    try:
        entries = sorted(os.scandir(out_root), key=lambda e: e.name)
    except OSError:
        return handled
    for entry in entries:
        prefix = next((p for p in marks if entry.name.startswith(p)), None)
        if prefix is None or not _is_stale(entry, entry.name[len(prefix) :]):
            continue
        path = Path(entry.path)
        try:
            if marks[prefix] == OLD_MARK and not _exists(target) and entry.is_dir(follow_symlinks=False):
                os.rename(path, target)
                _fsync_dir(out_root)
            else:
                _remove(path)
        except OSError:
            continue
        handled.append(path)
    return handled


def write_period(
    out_root: Path, period_label: str, files: Mapping[str, bytes | Iterable[bytes] | Streamed], force: bool
) -> Path:
    """Write `files` (name -> bytes) as the folder `out_root/period_label`.

    The folder appears complete or not at all. If it already exists and
    `force` is false, nothing is written and an `InputError` with code
    `period-exists` is raised; with `force` the old folder is replaced whole.
    File names may contain `/` for sub-folders but cannot leave the folder.
    Returns the folder's path.
    """
    out_root = Path(out_root)
    _check_name(period_label, "period label")
    if "/" in period_label or period_label.startswith("."):
        raise ValueError(f"unsafe period label: {period_label!r}")
    for name in files:
        _check_name(name, "output file name")

    target = out_root / period_label
    refuse_unwritable(out_root)
    if out_root.is_dir():
        clean_stale(out_root, period_label)
    if _exists(target) and not force:
        raise _period_exists(target)

    made = _missing_folders(out_root)
    try:
        if made:
            out_root.mkdir(parents=True, mode=DIR_MODE)
        return _replace(out_root, period_label, files, force)
    except BaseException as e:
        for folder in made:  # deepest first; only if nothing else was put there meanwhile
            try:
                os.rmdir(folder)
            except OSError:
                break
        if isinstance(e, OSError) and e.filename is not None:
            e.filename = _final_name(e.filename, target)
        raise


def _final_name(name, target: Path) -> str:
    """`name` as the user knows it: a file in a staging folder `.<period>.*` by its place in the
    period folder, the staging folder itself by the output folder it is made in."""
    path = Path(os.fsdecode(name))
    if not path.is_relative_to(target.parent):
        return str(path)
    parts = path.relative_to(target.parent).parts
    if not parts or not parts[0].startswith(f".{target.name}."):
        return str(path)
    return str(target.joinpath(*parts[1:])) if len(parts) > 1 else str(target.parent)


def _replace(out_root: Path, period_label: str, files: Mapping[str, bytes | Iterable[bytes] | Streamed], force: bool) -> Path:
    """Fill a staging folder and rename it to `out_root/period_label` (replacing a closed one)."""
    target = out_root / period_label
    tmp = _make_staging_dir(out_root, period_label)
    try:
        os.chmod(tmp, DIR_MODE)
        _fill(tmp, files)
        if _exists(target):
            if not force:
                raise _period_exists(target)
            aside = _aside_name(out_root, period_label)
            os.rename(target, aside)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(aside, target)
                raise
            _fsync_dir(out_root)
            # The old folder is garbage now: give it a staging name first, so
            # that a kill during the deletion leaves nothing that looks like a
            # closed period to restore.
            garbage = _staging_name(out_root, period_label, TMP_MARK)
            try:
                os.rename(aside, garbage)
            except OSError:
                garbage = aside
            _remove(garbage)
        else:
            try:
                os.rename(tmp, target)
            except OSError:
                # Someone created the folder meanwhile (a non-empty folder
                # cannot be renamed over); report it as a closed period.
                if _exists(target) and not force:
                    raise _period_exists(target) from None
                raise
        _fsync_dir(out_root)
    except BaseException:
        if _exists(tmp):
            _remove(tmp)
        raise
    return target
