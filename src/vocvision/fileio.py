"""Atomic file writes: a crash, a full disk or a bad input never leaves a half-written output.

Every file vocvision writes goes to a temporary name in the same directory, is flushed to
disk (fsync), and only then renamed onto its final name, so readers see the old file or the
whole new one, never a part. New files get the permissions the umask allows, like `open`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import VocvisionError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def staging_folder(out: str | Path) -> Iterator[Path]:
    """Yield a new hidden folder beside `out` to fill; if the block succeeds, rename it onto
    `out` (which must be absent or an empty folder), with the folder mode the umask allows;
    otherwise remove it, so `out` is whole or untouched."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())
        if out.is_dir():
            out.rmdir()
        staging.rename(out)
        _fsync_directory(out.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; if the block succeeds, fsync it and rename it
    onto `path` (mode 0666 less the umask); otherwise remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
        _fsync_directory(path.parent)
    except Exception as err:
        reason = _write_failure(err)
        if reason is None:
            raise
        raise WriteError(f"{path}: cannot be written ({reason}); the file is as it was") from err
    finally:
        tmp_path.unlink(missing_ok=True)


class WriteError(VocvisionError, OSError):
    """A file could not be written (disk full, file-size limit, no permission); the message
    names it, and the file is left as it was before."""


def _write_failure(err: Exception) -> str | None:
    """Why a write failed, if `err` is a failed write: an OSError, or the error a writing
    library makes of one (safetensors' I/O error, torch's zip writer losing its place)."""
    if isinstance(err, WriteError):
        return None
    if isinstance(err, OSError):
        return err.strerror or str(err) or type(err).__name__
    text = str(err)
    if "I/O error" in text:  # safetensors: "Error while serializing: I/O error: <reason>"
        return re.sub(r"\s*\(os error \d+\)", "", text.split("I/O error:", 1)[1]).strip()
    if isinstance(err, RuntimeError) and ("unexpected pos" in text or "StreamWriter" in text):
        return "the disk is full or the file would exceed the file-size limit"
    return None


def _fsync_directory(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def ensure_writable(folder: str | Path) -> Path:
    """Create `folder` if needed and check a file can be written in it, before any work:
    a read-only or full disk, or a denied folder, fails here with the folder named."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
    os.close(fd)
    os.unlink(probe)
    return folder


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
