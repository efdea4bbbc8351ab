"""Node.js for the tests that need it: the AsyncAPI parser, Ajv and the nats.js example.

Each Node folder of the repository (tools/asyncapi, examples/node) has a package.json and
a package-lock.json; `npm_folder` installs exactly the locked packages into that folder's
node_modules (git-ignored) with `npm ci --ignore-scripts`, once per lock: a stamp in
node_modules records the lock's digest. npm keeps its download cache outside the
repository (~/.npm), and `--prefer-offline` takes packages from it when they are there,
so a second machine run needs no network.

Without node or npm the tests skip, except under CI (CI=true), where they fail: CI on
this project's machines has Node.js, so the tests must run there.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
STAMP = ".tthc-installed"


def node_or_skip() -> tuple[str, str]:
    """(node, npm) executables; skip (or fail under CI) when either is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed for these tests, and CI has them")
        pytest.skip("node and npm are not installed")
    return node, npm


def npm_folder(folder: Path) -> str:
    """Install `folder`'s locked packages (once per lock); returns the node executable."""
    node, npm = node_or_skip()
    lock = folder / "package-lock.json"
    digest = hashlib.sha256((folder / "package.json").read_bytes() + lock.read_bytes()).hexdigest()
    stamp = folder / "node_modules" / STAMP
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return node
    with open(folder / ".npm-install.lock", "w") as guard:  # git-ignored
        fcntl.flock(guard, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
            return node
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci in {folder.relative_to(ROOT)} failed:\n{result.stderr[-3000:]}")
        stamp.write_text(digest, encoding="utf-8")
    return node
