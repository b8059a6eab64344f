"""Find a Python interpreter to package for another Lambda runtime (`make package RUNTIME_PYTHON=...`).

    python -m deploy.aws.runtimes python3.13     # prints the interpreter's path, or one line why not

Chalice takes the Lambda runtime from the Python that runs `chalice package`, so packaging for python3.13
needs a python3.13: a path, a name on PATH that really runs (a pyenv shim for a version that is not
selected does not), or one of pyenv's installed versions.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple


def version_of(interpreter: str) -> Optional[Tuple[int, int]]:
    """(major, minor) of a working interpreter, else None."""
    try:
        done = subprocess.run([interpreter, "-c", "import sys; print(*sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    major, minor = done.stdout.split()
    return int(major), int(minor)


def _pyenv_candidates(name: str) -> List[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    return sorted((root / "versions").glob(f"*/bin/{name}"), reverse=True)


def find(name: str) -> Optional[str]:
    """The path of a working interpreter called (or at) `name`."""
    candidates = [name] if os.sep in name else [c for c in [shutil.which(name)] if c]
    candidates += [str(p) for p in _pyenv_candidates(Path(name).name)]
    return next((c for c in candidates if version_of(c)), None)


def newer_than(minimum: Tuple[int, int]) -> Optional[str]:
    """A working python3.X on this machine with X >= minimum's, newest first (for the tests)."""
    for minor in range(14, minimum[1] - 1, -1):
        found = find(f"python3.{minor}")
        if found and (version_of(found) or (0, 0)) >= minimum:
            return found
    return None


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deploy.aws.runtimes python3.13", file=sys.stderr)
        return 2
    found = find(args[0])
    if not found:
        print(f"RUNTIME_PYTHON={args[0]}: no working interpreter of that name on PATH or among pyenv's versions; "
              f"install it or give its path", file=sys.stderr)
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
