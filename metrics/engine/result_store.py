"""The result store: what a backend computed for one source, kept on disk between processes.

A backend's answer for one source (`Backend.compute`: every requested metric of that source over one
`Window`) is a function of exactly these, and the store's key is a hash of all of them (`key_of`):

* each metric's resolved definition (`model_dump_json` of the sourced metric, a ratio's parts
  included: the engine asks for the parts), so editing metrics.yaml gives a new key;
* the source's definition in sources.yaml (type, path or table, column roles, dimensions, ...);
* the project settings that change numbers: time zone, week start, fiscal year start;
* the request as the backend sees it: start, end, grain, breakdown, single span;
* the connector's data fingerprint (`Connector.fingerprint()`: file paths, sizes and modification
  times; for SQL the row count and newest timestamp), so new data gives a new key (an update of a
  SQL table that keeps both is invisible to it, so an answer from SQL is read for `SQL_MAX_AGE`
  only);
* the versions of Polars and SQLAlchemy and a hash of the engine's own code, so an upgrade never
  reads an answer computed by other code.

So a stored answer is never stale: whatever could change it is in its key, and an entry is never
updated in place, only written once under its key. When the data only grew, the engine builds the
new answer from an earlier one's first periods and a computed rest (`metrics.engine.incremental`,
which keeps its bookkeeping here as small JSON notes: `read_note`, `write_note`). A restarted server, a second replica and the
review pack read what another process computed. Frames are stored in Arrow IPC, so a stored answer
is bit for bit the computed one (dtypes included).

Where: `$NORTHSTAR_CACHE_DIR/results`, else the platform's user cache folder
(`~/.cache/northstar/results` on Linux); never the project or its data folder. Writes are atomic
(a temporary file in the same folder, then `os.replace`), so processes that share the folder never
see half an entry; two that compute the same entry at once write the same bytes. The folder is kept
under `max_bytes` (default 512 MiB, `NORTHSTAR_RESULT_STORE_MB`) by removing the least recently used
entries. A folder that cannot be written, or a damaged entry, is passed over: the answer is computed
as without a store. `NORTHSTAR_RESULT_STORE=off` (or `Engine(..., result_store=False)`) turns it off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

ENV_DIR = "NORTHSTAR_CACHE_DIR"
ENV_SWITCH = "NORTHSTAR_RESULT_STORE"  # "off" (or 0, false, no) turns the store off
ENV_SIZE = "NORTHSTAR_RESULT_STORE_MB"
FOLDER = "results"
FORMAT = 1  # bump when the stored layout or the meaning of a stored frame changes
MAGIC = b"NSRS1\n"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
# A SQL source's fingerprint (row count, newest timestamp) cannot see an update that keeps both, so
# an answer from SQL is read for this long after it was computed, as long as the dashboard keeps one
# in memory (`dashboard.cache.RESULT_TTL`). File fingerprints (sizes, modification times) see every
# rewrite, so answers from files have no age limit.
SQL_MAX_AGE = 30 * 60
# The code whose output is stored: a change to any of these files gives every entry a new key.
_CODE = (
    "engine/engine.py",
    "engine/incremental.py",
    "engine/polars_backend.py",
    "engine/sql_backend.py",
    "engine/sql_dialects.py",
    "engine/local_days.py",
    "engine/filter_values.py",
    "engine/request.py",
    "engine/result_store.py",
    "definitions/calendar.py",
    "definitions/models.py",
)

Frames = dict[str, pl.DataFrame]


def enabled_by_env(environ: Mapping[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(ENV_SWITCH, "").strip().lower()
    return value not in {"off", "0", "false", "no"}


def default_folder() -> Path:
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured) / FOLDER
    import platformdirs

    return Path(platformdirs.user_cache_dir("northstar", appauthor=False)) / FOLDER


def _max_bytes_from_env() -> int:
    try:
        return int(float(os.environ.get(ENV_SIZE, "")) * 1024 * 1024)
    except ValueError:
        return DEFAULT_MAX_BYTES


@functools.cache
def code_version() -> str:
    """Polars' and SQLAlchemy's versions and a hash of the engine's code (see `_CODE`)."""
    digest = hashlib.sha256()
    for package in ("polars", "sqlalchemy"):
        try:
            digest.update(f"{package}={metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=missing\n".encode())
    root = Path(__file__).resolve().parent.parent
    for relative in _CODE:
        with contextlib.suppress(OSError):
            digest.update((root / relative).read_bytes())
    return digest.hexdigest()


def key_of(document: Mapping[str, Any]) -> str:
    """The store key of an answer: a hash of what it depends on (a JSON-able mapping) and the code."""
    text = json.dumps(
        {"format": FORMAT, "code": code_version(), **document},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class StoreStats:
    """What this store object did (for explain, tests and benchmarks)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    spliced: int = 0  # answers made from a stored head and a recomputed tail (engine.incremental)


class ResultStore:
    """A folder of answers, one file per key (see the module's docstring)."""

    def __init__(self, folder: Path | None = None, max_bytes: int | None = None) -> None:
        self.folder = folder if folder is not None else default_folder()
        self.max_bytes = max_bytes if max_bytes is not None else _max_bytes_from_env()
        self.stats = StoreStats()

    @classmethod
    def default(cls) -> ResultStore | None:
        """The user's store, or None when `NORTHSTAR_RESULT_STORE=off`."""
        return cls() if enabled_by_env() else None

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.arrows"

    def contains(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str, max_age: float | None = None) -> Frames | None:
        """The stored frames, or None (not stored, older than `max_age` seconds, unreadable or damaged)."""
        found = self.get_dated(key, max_age)
        return None if found is None else found[1]

    def get_dated(
        self, key: str, max_age: float | None = None, *, counted: bool = True
    ) -> tuple[float, Frames] | None:
        """(when it was computed, the stored frames), or None as for `get`. `counted=False`: not
        counted as a hit or miss (an earlier answer read as the head of a splice)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
            created, frames = _decode(data)
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
            self.stats.misses += counted
            return None
        if max_age is not None and not 0 <= time.time() - created <= max_age:
            self.stats.misses += counted
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept when the folder is trimmed
        self.stats.hits += counted
        return created, frames

    def put(self, key: str, frames: Mapping[str, pl.DataFrame], created: float | None = None) -> None:
        """Store the frames under `key` (atomically); a disk that refuses is passed over.

        `created` (default now) is when the oldest part of the answer was computed: an answer spliced
        from a stored head keeps the head's time, so `max_age` bounds the age of all of it."""
        try:
            self._write(self.path(key).name, _encode(frames, created))
        except OSError:
            return  # a read-only or full disk: the answer is still right, only not kept

    def trim(self) -> None:
        """Remove the least recently used entries until the folder holds at most `max_bytes`."""
        try:
            entries = []
            for entry in os.scandir(self.folder):
                if entry.name.endswith((".arrows", ".json")):
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        entries.append((stat.st_mtime_ns, stat.st_size, entry.path))
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        entries.sort()
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
            total -= size

    def get_json(self, key: str) -> Any:
        """A stored JSON document (small answers: data ranges, forecast outlooks), or None."""
        path = self.folder / f"{key}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.stats.misses += 1
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        self.stats.hits += 1
        return document

    def put_json(self, key: str, document: Any) -> None:
        try:
            self._write(f"{key}.json", json.dumps(document).encode())
        except OSError:
            return

    def read_note(self, key: str) -> Any:
        """A bookkeeping document (`metrics.engine.incremental`'s lineages and data states), or
        None; not counted in `stats`."""
        path = self.folder / f"{key}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # kept as long as the entries it leads to
        return document

    def write_note(self, key: str, document: Any) -> None:
        try:
            self._write(f"{key}.json", json.dumps(document).encode(), counted=False)
        except OSError:
            return

    def _write(self, name: str, data: bytes, counted: bool = True) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, self.folder / name)  # atomic: a reader sees all of it or nothing
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self.stats.writes += counted
        self.trim()

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                if entry.name.endswith((".arrows", ".json")):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def _encode(frames: Mapping[str, pl.DataFrame], created: float | None = None) -> bytes:
    """MAGIC, one JSON line naming each frame and its length, then each frame in Arrow IPC."""
    blobs: list[tuple[str, bytes]] = []
    for name, frame in frames.items():
        buffer = io.BytesIO()
        frame.write_ipc(buffer)
        blobs.append((name, buffer.getvalue()))
    header = {
        "created": time.time() if created is None else created,
        "frames": [[name, len(blob)] for name, blob in blobs],
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + b"".join(blob for _, blob in blobs)


def _decode(data: bytes) -> tuple[float, Frames]:
    """(when the entry was written, its frames)."""
    if not data.startswith(MAGIC):
        raise ValueError("not a result-store entry")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    at = end + 1
    frames: Frames = {}
    for name, length in header["frames"]:
        blob = data[at : at + int(length)]
        if len(blob) != int(length):
            raise ValueError("truncated entry")
        frames[str(name)] = pl.read_ipc(io.BytesIO(blob))
        at += int(length)
    if at != len(data):
        raise ValueError("trailing bytes")
    return float(header["created"]), frames


__all__ = [
    "ENV_SWITCH",
    "SQL_MAX_AGE",
    "ResultStore",
    "StoreStats",
    "code_version",
    "enabled_by_env",
    "key_of",
]
