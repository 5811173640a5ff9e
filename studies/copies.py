"""A temporary copy of the committed tree (a git worktree of HEAD), for studies that plant a fault
in the code and run a real command on it: the power study of CI's check, the mutation list."""

from __future__ import annotations

import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def committed_copy(prefix: str):
    """A worktree of HEAD in a temporary folder, removed on exit (whatever was planted in it)."""
    tree = Path(tempfile.mkdtemp(prefix=prefix)) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), "HEAD"], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
