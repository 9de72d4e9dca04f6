"""A project's YAML files as they were at a git revision, read with the `git` command.

The git command line is the library here: it is on every machine that has the repository, and it
reads exactly what `git show` would (packed objects, worktrees, submodules' own repositories), which
a reimplementation would not. Revisions are resolved once to a commit id before any file is read, so
no user text reaches git as anything but a revision to verify (`--end-of-options`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connectors.errors import NorthstarError
from metrics.definitions.project import FILES


class RevisionError(NorthstarError):
    """A revision or repository that cannot be read; the message says what to do."""


@dataclass(frozen=True)
class Revision:
    """The files of a project folder at one revision (`commit` None: the working tree)."""

    name: str  # as the user wrote it, or "working tree"
    commit: str | None
    files: Mapping[str, bytes] | None  # None: read the folder itself


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise RevisionError("`northstar diff` needs the git command; install git")
    return subprocess.run([git, "-C", str(repo), *args], capture_output=True, check=False, timeout=60)


def repository_of(config: Path) -> tuple[Path, str]:
    """The repository's top folder and the config folder's path inside it ("" at the top, else "a/b/")."""
    if not config.is_dir():
        raise RevisionError(f"config folder {config} does not exist; pass --config DIR")
    top = _git(config, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise RevisionError(
            f"{config} is not inside a git repository; `northstar diff` compares two revisions of it"
        )
    prefix = _git(config, "rev-parse", "--show-prefix").stdout.decode().strip()
    return Path(top.stdout.decode().strip()), prefix


def resolve(repo: Path, rev: str) -> str:
    """The commit id `rev` names in `repo`, or a RevisionError that names it."""
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise RevisionError(
            f"unknown git revision {rev!r}; use a branch, tag or commit of this repository "
            "(in CI, fetch the base branch first, e.g. `git fetch origin main` and --base origin/main)"
        )
    return done.stdout.decode().strip()


def at_revision(config: Path, rev: str | None) -> Revision:
    """The project's YAML files at `rev` (None: the working tree, read from the folder)."""
    if rev is None:
        return Revision("working tree", None, None)
    repo, prefix = repository_of(config)
    commit = resolve(repo, rev)
    listed = _git(repo, "ls-tree", "--name-only", commit, "--", prefix or ".")
    present = {Path(line).name for line in listed.stdout.decode().splitlines()}
    files: dict[str, bytes] = {}
    for name in FILES:
        if name not in present:
            continue
        blob = _git(repo, "cat-file", "blob", f"{commit}:{prefix}{name}")
        if blob.returncode != 0:
            raise RevisionError(f"cannot read {prefix}{name} at {rev}: {blob.stderr.decode().strip()}")
        files[name] = blob.stdout
    return Revision(rev, commit, files)


__all__ = ["Revision", "RevisionError", "at_revision", "repository_of", "resolve"]
