"""The interpreter and virtualenv of the Lambda runtime declared in deploy/project.py (LAMBDA_RUNTIME).

    python -m deploy.aws.runtimes     # creates/updates .venv-python3.13, prints its python, or one line why not

Chalice takes the Lambda runtime (and the wheel ABI it downloads) from the Python that runs `chalice
package`, and bytecode is only valid for the version that compiled it, so packaging runs under an
interpreter of the declared version whatever Python runs make: the one LAMBDA_PYTHON (or PYTHON313 for
python3.13) names, else the first of that name on PATH that really runs (a pyenv shim for a version that is
not selected does not), else one of pyenv's installed versions. `ensure_venv()` keeps `.venv-python3.13`
(git-ignored) with requirements-package.txt installed, reinstalling when a requirements file changes.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Optional, Tuple

from deploy.project import LAMBDA_RUNTIME, ROOT

REQUIREMENTS = ROOT / "requirements-package.txt"
REQUIREMENT_FILES = (REQUIREMENTS, ROOT / "users_app" / "requirements.txt", ROOT / "orders_app" / "requirements.txt")
VENV = ROOT / f".venv-{LAMBDA_RUNTIME}"
_lock = threading.Lock()


class RuntimeNotFound(Exception):
    """No interpreter of the declared runtime: the message is the one line to show."""


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


def declared_version(runtime: str = LAMBDA_RUNTIME) -> Tuple[int, int]:
    major, minor = runtime.removeprefix("python").split(".")
    return int(major), int(minor)


def _pyenv_candidates(name: str) -> List[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    return sorted((root / "versions").glob(f"*/bin/{name}"), reverse=True)


def find(name: str) -> Optional[str]:
    """The path of a working interpreter called (or at) `name`."""
    candidates = [name] if os.sep in name else [c for c in [shutil.which(name)] if c]
    candidates += [str(p) for p in _pyenv_candidates(Path(name).name)]
    return next((c for c in candidates if version_of(c)), None)


def interpreter(runtime: str = LAMBDA_RUNTIME) -> str:
    """A working interpreter of `runtime`'s version, or RuntimeNotFound saying what to install or set."""
    version = declared_version(runtime)
    for variable in ("LAMBDA_PYTHON", f"PYTHON{version[0]}{version[1]}"):
        given = os.environ.get(variable)
        if given:
            found = given if os.sep in given else find(given)  # a path is that interpreter or none
            if found and version_of(found) == version:
                return found
            raise RuntimeNotFound(f"{variable}={given} is not a working {runtime}, the Lambda runtime "
                                  f"(deploy/project.py); point it at a {runtime} or unset it")
    found = find(runtime)
    if found and version_of(found) == version:
        return found
    raise RuntimeNotFound(f"the Lambda runtime is {runtime} (deploy/project.py) but no {runtime} is on PATH or "
                          f"in pyenv; install it (pyenv install {version[0]}.{version[1]}) or set "
                          f"LAMBDA_PYTHON=/path/to/{runtime}")


def requirements_hash() -> str:
    digest = hashlib.sha256()
    for path in REQUIREMENT_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = VENV) -> Path:
    """The runtime's virtualenv with requirements-package.txt installed (created or reinstalled when the
    requirements changed); returns its python. Safe from several threads and processes at once. An
    interpreter named by LAMBDA_PYTHON is checked on every call, even when the venv exists."""
    if os.environ.get("LAMBDA_PYTHON"):
        interpreter()
    stamp = venv / ".requirements-sha256"
    wanted = requirements_hash()
    with _lock:
        if stamp.is_file() and stamp.read_text() == wanted and venv_python(venv).exists():
            return venv_python(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        with open(venv.parent / f"{venv.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if stamp.is_file() and stamp.read_text() == wanted and venv_python(venv).exists():
                return venv_python(venv)
            if version_of(str(venv_python(venv))) != declared_version():
                python = interpreter()
                print(f"creating {venv.name} with {python} (the Lambda runtime, deploy/project.py)", file=sys.stderr)
                shutil.rmtree(venv, ignore_errors=True)
                subprocess.run([python, "-m", "venv", str(venv)], check=True)
            stamp.unlink(missing_ok=True)
            subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "-r", str(REQUIREMENTS)], check=True, cwd=ROOT)
            stamp.write_text(wanted)
    return venv_python(venv)


def main(argv: Optional[List[str]] = None) -> int:
    parser_args = sys.argv[1:] if argv is None else argv
    if parser_args:
        print("usage: python -m deploy.aws.runtimes   (the runtime is LAMBDA_RUNTIME in deploy/project.py)",
              file=sys.stderr)
        return 2
    try:
        print(ensure_venv())
    except RuntimeNotFound as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
