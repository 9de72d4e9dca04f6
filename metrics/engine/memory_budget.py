"""How much memory one request may hold: the budget the Polars backend plans its passes from.

`NORTHSTAR_MEMORY_BUDGET` sets it for the process: a size (`1.5GB`, `800MB`, `2GiB`, a number of
bytes) or a share of the machine's memory (`10%`). Unset, it is `DEFAULT_SHARE` of the memory this
process may use: the machine's physical memory, or the cgroup's limit when that is lower (a
container). The budget is per request; docs/performance.md says how it is spent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from metrics.engine.request import MetricError

ENV_VAR = "NORTHSTAR_MEMORY_BUDGET"
DEFAULT_SHARE = 1 / 16  # 1.5 GiB on a 24 GiB machine: leaves room for the app's other sessions
FALLBACK_MEMORY = 8 * 1024**3  # when the machine's memory cannot be read
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*|%)\s*", re.IGNORECASE)
_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


def machine_memory() -> int:
    """Bytes of memory this process may use: physical memory, or a lower cgroup limit."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = FALLBACK_MEMORY
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def parse_budget(text: str, memory: int) -> int:
    """Bytes of a budget written as a size or a share of `memory`; MetricError when it is neither."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or (unit != "%" and unit not in _UNITS):
        raise MetricError(
            f"{ENV_VAR}={text!r} is not a size; write it as e.g. 2GB, 800MB, 1.5GiB or 10% (of the "
            "machine's memory)"
        )
    number = float(match.group(1))
    size = memory * number / 100 if unit == "%" else number * _UNITS[unit]
    if size < 1:
        raise MetricError(f"{ENV_VAR}={text!r} is no memory at all; give at least 1 byte (e.g. 500MB)")
    return int(size)


def memory_budget() -> int:
    """Bytes one request may hold: `NORTHSTAR_MEMORY_BUDGET`, else a share of the machine's memory."""
    text = os.environ.get(ENV_VAR, "").strip()
    memory = machine_memory()
    if not text:
        return int(memory * DEFAULT_SHARE)
    return parse_budget(text, memory)


def describe(size: int) -> str:
    """A byte count as people read it: 1.5 GB, 640 MB, 12 kB."""
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"
