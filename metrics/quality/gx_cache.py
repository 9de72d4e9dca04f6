"""Great Expectations' verdicts on `expect:` arguments, kept on disk between runs of `validate`.

The deep argument check builds each expectation in GX, and importing GX costs seconds of CPU in every
process. Its verdict is a function of the expectation's name and arguments, the installed GX and
pydantic, and Northstar's code that turns GX's errors into problems; it never reads the data. So it
is stored in the user's cache folder under a key made of exactly those (`entry_key`), and a later
`validate` of an unchanged entry reads it instead of importing GX. Editing an entry, upgrading GX or
changing that code gives a new key, so a stored verdict is never stale; the data is not part of the
key because it cannot change the verdict.

The folder is `$NORTHSTAR_CACHE_DIR/gx-arguments`, else the platform's user cache folder
(`~/.cache/northstar/gx-arguments` on Linux): never the project or its data folder. A folder that
cannot be read or written, or a damaged file, is passed over: the entry is then built in GX, as
without a cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from metrics.quality.catalog import ArgProblem

ENV_VAR = "NORTHSTAR_CACHE_DIR"
FOLDER = "gx-arguments"
FORMAT = 1  # bump when the stored layout or the meaning of a verdict changes
MAX_ENTRIES = 4000  # least recently used verdicts beyond this are removed (each is a few hundred bytes)
# Northstar's modules whose code shapes a verdict (GX's errors translated, did-you-mean hints).
_CODE = ("quality/gx_runner.py", "quality/catalog.py", "definitions/problems.py")


def cache_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured) / FOLDER
    import platformdirs

    return Path(platformdirs.user_cache_dir("northstar", appauthor=False)) / FOLDER


def argument_problems(name: str, args: Mapping[str, Any]) -> list[ArgProblem]:
    """`gx_runner.argument_problems(name, args)`, read from the cache when GX judged this entry before."""
    from metrics.quality import gx_runner

    try:
        key = entry_key(name, args)
    except OSError:  # Northstar's own code cannot be read (an unusual install): no key, no cache
        return gx_runner.argument_problems(name, args)
    folder = cache_dir()
    found = _read(folder / f"{key}.json")
    if found is not None:
        return found
    problems = gx_runner.argument_problems(name, args)
    _write(folder, key, name, problems)
    return problems


def entry_key(name: str, args: Mapping[str, Any]) -> str:
    """What a verdict depends on, hashed: the entry as written (types included) and the code that judges it."""
    document = {"format": FORMAT, "judge": _judge(), "name": name, "args": _canonical(args)}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _judge() -> dict[str, str]:
    """The installed GX and pydantic, and a hash of Northstar's code that turns their errors into problems."""
    versions = {}
    for package in ("great_expectations", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    code = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for relative in _CODE:
        code.update((root / relative).read_bytes())
    return {**versions, "code": code.hexdigest()}


def _canonical(value: Any) -> Any:
    """A JSON value that tells apart everything GX could tell apart: `1`, `1.0`, `true` and `"1"`,
    a date and its text, a list and a mapping."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return [type(value).__name__, repr(value)]
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return [type(value).__name__, value.isoformat()]
    if isinstance(value, Mapping):
        items = sorted(
            ([str(k), type(k).__name__, _canonical(v)] for k, v in value.items()), key=lambda i: i[:2]
        )
        return ["map", items]
    if isinstance(value, list | tuple | set | frozenset):
        items = [_canonical(v) for v in value]
        if isinstance(value, set | frozenset):
            items.sort(key=json.dumps)
        return [type(value).__name__, items]
    return [type(value).__module__ + "." + type(value).__qualname__, repr(value)]


def _read(path: Path) -> list[ArgProblem] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        problems = [
            ArgProblem(
                key=_optional_str(item["key"]),
                message=str(item["message"]),
                hint=_optional_str(item["hint"]),
                at_value=bool(item["at_value"]),
            )
            for item in document["problems"]
        ]
    except (OSError, ValueError, KeyError, TypeError):  # missing, unreadable or damaged: build it again
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when the folder is trimmed
    return problems


def _optional_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not text")
    return value


def _write(folder: Path, key: str, name: str, problems: list[ArgProblem]) -> None:
    document = {"format": FORMAT, "expectation": name, "problems": [asdict(p) for p in problems]}
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out)
            os.replace(temporary, folder / f"{key}.json")  # atomic: a reader sees all of it or nothing
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _trim(folder)
    except OSError:
        return  # a read-only or full disk: the verdict is still right, only not kept


def _trim(folder: Path) -> None:
    entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for entry in entries[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
