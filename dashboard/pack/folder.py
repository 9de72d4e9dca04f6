"""Where a review pack is written: `staged(out)` builds it in a folder beside `out` and swaps it in.

The rules (`snapshot --out`):
- `out` is created when missing; an empty folder is used;
- a folder that holds files is replaced only when it is an earlier pack: it has the `pack.json` that
  Northstar writes (a JSON object with `stamp`, `scorecard` and `items`) and nothing but a pack's
  files (`*.png`, `index.html`, `summary.md`, `pack.json`); anything else is refused, so no
  unrelated file is ever overwritten or removed;
- links are never followed: an `out` that is a symbolic link, or an earlier pack holding one, is
  refused;
- the pack is written into a new folder next to `out` and renamed into place only when complete, so
  a failure leaves the earlier pack (or nothing) and never half a pack.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dashboard.pack.model import PackError

MARKER = "pack.json"
PACK_PAGES = frozenset({"index.html", "summary.md", MARKER})


def _is_earlier_pack(out: Path) -> str | None:
    """None when `out` holds an earlier pack alone, else why it is not one."""
    marker = out / MARKER
    if marker.is_symlink() or not marker.is_file():
        return f"it holds files and no {MARKER} of an earlier pack"
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return f"its {MARKER} is not one Northstar wrote"
    if not (isinstance(document, dict) and {"stamp", "scorecard", "items"} <= set(document)):
        return f"its {MARKER} is not one Northstar wrote"
    for entry in sorted(out.iterdir()):
        if entry.is_symlink():
            return f"it holds a link, {entry.name}"
        if not entry.is_file() or not (entry.suffix == ".png" or entry.name in PACK_PAGES):
            return f"it holds {entry.name}, which is not part of a pack"
    return None


def check_out(out: Path) -> None:
    """Raise PackError (one sentence) when the pack may not be written to `out`."""
    if out.is_symlink():
        raise PackError(f"{out} is a symbolic link; give --out a real folder (links are never followed)")
    if out.exists() and not out.is_dir():
        raise PackError(f"{out} is a file, not a folder; give --out a folder")
    if out.is_dir() and any(out.iterdir()):
        reason = _is_earlier_pack(out)
        if reason is not None:
            raise PackError(
                f"{out} is not empty and is not an earlier review pack ({reason}); "
                "give --out a new or empty folder"
            )


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A new folder beside `out` to write the pack into; on success it replaces `out`."""
    out = Path(out).absolute()
    check_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    except OSError as exc:
        raise PackError(f"cannot create the pack folder {out}: {exc.strerror or exc}") from None
    try:
        yield stage
        os.chmod(stage, 0o755)  # mkdtemp makes it private; a pack is for sharing
        _swap_in(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _swap_in(stage: Path, out: Path) -> None:
    check_out(out)  # again: the folder may have changed while the pack was rendered
    old: Path | None = None
    try:
        if out.is_dir() and any(out.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "pack")
        os.replace(stage, out)  # onto a missing or empty folder
    except OSError as exc:
        if old is not None and not out.exists():
            os.rename(old / "pack", out)
        raise PackError(f"cannot write the pack into {out}: {exc.strerror or exc}") from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


__all__ = ["MARKER", "check_out", "staged"]
