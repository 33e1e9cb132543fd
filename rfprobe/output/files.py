"""Writing the files a run produces: checked before the run, replaced atomically after it.

* :func:`check_output_file` / :func:`check_output_directory` run before any work, so a bad
  `--json` or `--plot` never costs a whole run (and never leaves half of its output).
* :func:`write_atomically` writes beside the target, fsyncs, then renames over it: readers
  see the old file or the new one, never half of one. Only a regular file is ever replaced
  (never a symlink, a device or a directory); an existing file keeps its permissions; the
  temporary file is removed on error, SIGINT or SIGTERM.
* :func:`safe_file_stem` turns a config name into a file name that stays in its directory.

    >>> safe_file_stem("../../../elsewhere/x")
    'elsewhere_x'
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from rfprobe.errors import UsageError

MAX_STEM_CHARACTERS = 100


def safe_file_stem(name: str) -> str:
    """Letters, digits, `.`, `-`, `_` only, no leading dot: never a path separator or `..`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:MAX_STEM_CHARACTERS]
    return stem or "unnamed"


@dataclass(frozen=True)
class OutputFile:
    """A checked output path and what was there when it was checked (None: nothing)."""

    path: Path
    seen: Optional[tuple[int, int, int]]  # (device, inode, mtime ns) of the existing file


def _identity(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_dev, status.st_ino, status.st_mtime_ns


def _kind(mode: int) -> str:
    return (
        "a symlink"
        if stat.S_ISLNK(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )


def _writable_directory(directory: Path, option: str, path: Path) -> None:
    if not directory.is_dir():
        raise UsageError(f"{option} {path}: directory {directory} does not exist; create it first")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: directory {directory} is not writable; choose another path")


def check_output_file(path: Path, option: str = "--json") -> OutputFile:
    """`path` must be absent or a regular file, in a writable directory."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot inspect it ({error.strerror}); choose another path") from None
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise UsageError(
            f"{option} {path}: {_kind(status.st_mode)}; rfprobe replaces only regular files: choose a file path"
        )
    _writable_directory(path.parent, option, path)
    return OutputFile(path=path, seen=None if status is None else _identity(status))


def check_output_directory(path: Path, option: str = "--plot") -> None:
    """`path` must be a writable directory, or creatable: its nearest existing ancestor one."""
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is not a directory" if existing == path else f"lies under {existing}, which is not a directory"
        raise UsageError(f"{option} {path}: {what}; choose a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {existing} is not writable; choose another directory")


@contextlib.contextmanager
def _removed_on_signals(temporary: str) -> Iterator[None]:
    """Remove `temporary` if SIGINT or SIGTERM arrives while it exists, then die of that signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        for number, old in previous.items():
            signal.signal(number, old)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        os.kill(os.getpid(), signum)  # the previous (default) handler: exit as killed by SIGTERM

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def write_atomically(target: Path | OutputFile, write: Callable[[object], None], binary: bool = False) -> None:
    """Call `write(stream)` on a temporary file beside the target, fsync it, rename it over the target."""
    output = target if isinstance(target, OutputFile) else check_output_file(Path(target), "output")
    path = output.path
    directory = path.parent
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise UsageError(f"{path}: became {_kind(existing.st_mode)} during the run; nothing written")
    if existing is not None and (output.seen is None or _identity(existing) != output.seen):
        print(f"rfprobe: warning: {path} was changed by something else during this run; replacing it", file=sys.stderr)
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with _removed_on_signals(temporary):
            with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
                write(stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, mode)  # mkstemp makes it private; an existing file keeps its own mode
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a crash only once the directory is synced
        directory_handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_handle)
        finally:
            os.close(directory_handle)


def write_json_atomically(target: Path | OutputFile, payload: dict) -> None:
    """The JSON report, written with :func:`write_atomically`."""

    def write(stream) -> None:
        json.dump(payload, stream, indent=2, default=str)
        stream.write("\n")

    write_atomically(target, write)
