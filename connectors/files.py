"""Parquet, CSV and NDJSON sources (a file or a glob) read through Polars lazy scans."""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from connectors.base import ColumnKind, ConnectorError
from connectors.models import FileSource, SourceConfig


def kind_of(dtype: pl.DataType) -> ColumnKind:
    """The kind of a Polars column's values (the schema check and the Polars backend's filters ask it)."""
    if dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum):
        return "string"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if dtype == pl.Date:
        return "date"
    return "other"


_GLOB_CHARS = re.compile(r"[*?[]")


SYSTEM_FOLDERS = tuple(Path(p) for p in ("/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/run"))


def unsafe_root(folder: str, root: Path) -> str | None:
    """Why a data root may not be used (it opens the server's system folders), or None."""
    resolved = (root / folder).resolve()
    for system in SYSTEM_FOLDERS:
        if system.is_relative_to(resolved) or resolved.is_relative_to(system):
            return f"data root {folder!r} opens the server's system folder {system}"
    return None


def outside_roots(path: str, root: Path, data_roots: Sequence[str]) -> str | None:
    """Why a source may not read `path` (a file or a glob), or None when it may.

    Once symlinks are resolved, the path, its glob's fixed part and every file the glob matches must
    lie inside the project folder `root` or a data root (relative to `root`, or absolute). The
    message names what the YAML says, never a file's content or where a link points."""
    allowed = [root.resolve(), *((root / extra).resolve() for extra in data_roots)]

    def inside(candidate: Path) -> bool:
        resolved = candidate.resolve()
        return any(resolved.is_relative_to(folder) for folder in allowed)

    pattern = root / path  # an absolute path stays itself
    parts = pattern.parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS.search(part)), len(parts))
    where = "the project folder and the data roots project.yaml lists"
    if not inside(Path(*parts[:fixed])):
        return f"path {path!r} is outside {where}"
    if fixed < len(parts) and not all(
        inside(Path(match)) for match in glob.iglob(str(pattern), recursive=True)
    ):
        return f"path {path!r} matches files outside {where}"
    return None


class FileConnector:
    def __init__(self, name: str, config: SourceConfig, root: Path) -> None:
        if not isinstance(config, FileSource):
            raise TypeError("FileConnector takes a file source")
        self.name = name
        self.config: FileSource = config
        self.pattern = (
            str((root / config.path).resolve()) if not Path(config.path).is_absolute() else config.path
        )

    def files(self) -> list[Path]:
        found = sorted(Path(p) for p in glob.glob(self.pattern, recursive=True))
        files = [p for p in found if p.is_file()]
        if not files:
            raise ConnectorError(
                f"source {self.name!r}: no file matches {self.config.path}; "
                "generate it or fix `path:` (relative to the config folder)"
            )
        return files

    def scan(self) -> pl.LazyFrame:
        files = [str(p) for p in self.files()]
        try:
            if self.config.type == "parquet":
                return pl.scan_parquet(files)
            if self.config.type == "csv":
                return pl.scan_csv(files, try_parse_dates=True)
            return pl.scan_ndjson(files)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ConnectorError(f"source {self.name!r}: cannot read {self.config.path}: {exc}") from exc

    def schema(self) -> dict[str, ColumnKind]:
        try:
            collected = self.scan().collect_schema()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ConnectorError(
                f"source {self.name!r}: cannot read the schema of {self.config.path}: {exc}"
            ) from exc
        return {name: kind_of(dtype) for name, dtype in collected.items()}

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.files():
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]
