"""One Lambda runtime, whatever Python runs make: LAMBDA_RUNTIME (deploy/project.py) is what `chalice package`
runs under (the runtime's own venv, deploy/aws/runtimes.py), so one packaging run stands for any other: the
template's Runtime, the wheels Chalice picks and the bytecode all come from that interpreter, never from
sys.executable (this suite runs under the .venv's 3.11). Without an interpreter of that version, packaging
stops with one line saying what to install."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy.aws import runtimes
from deploy.aws.package import _chalice
from deploy.project import LAMBDA_RUNTIME, ROOT
from tests.support.packaging import Package

ABI = "cp" + LAMBDA_RUNTIME.removeprefix("python").replace(".", "")  # cp313


def test_chalice_runs_under_the_declared_runtime_not_the_python_running_make() -> None:
    chalice = Path(_chalice())
    shebang = chalice.read_text().splitlines()[0]
    assert shebang == f"#!{runtimes.VENV / 'bin' / 'python'}"  # the runtime venv's, not sys.executable's
    assert runtimes.version_of(shebang[2:]) == runtimes.declared_version() == (3, 13)
    assert Path(sys.executable).parent != chalice.parent


def test_artifacts_hold_only_the_runtimes_wheels_extensions_and_bytecode(pkg: Package) -> None:
    """What makes the packages the same whatever Python runs make: every wheel tag is none/abi3/cp313 for the
    stage's architecture, every extension cpython-313 or abi3, every .pyc compiled by python3.13."""
    magic = subprocess.run([str(runtimes.ensure_venv()), "-c", "import importlib.util as u; "
                            "print(u.MAGIC_NUMBER.hex())"], capture_output=True, text=True, check=True).stdout.strip()
    assert json.loads((pkg.dir / "build.json").read_text())["runtime"] == LAMBDA_RUNTIME
    tags, extensions, pycs = set(), set(), 0
    for artifact in ("deployment.zip", "layer-deployment.zip"):
        with zipfile.ZipFile(pkg.dir / artifact) as zf:
            for name in zf.namelist():
                if name.endswith(".dist-info/WHEEL"):
                    tags |= {line.split(":", 1)[1].strip() for line in zf.read(name).decode().splitlines()
                             if line.startswith("Tag:")}
                elif name.endswith(".so"):
                    extensions.add(name.rsplit("/", 1)[-1])
                elif name.endswith(".pyc"):
                    pycs += 1
                    assert name.endswith(f".cpython-{ABI[2:]}.pyc"), name
                    assert zf.read(name)[:4].hex() == magic, name
    assert pycs > 100 and tags
    assert bool(extensions) == (pkg.app == "users"), extensions  # cryptography and cffi; orders is pure Python
    assert {tag.split("-")[1] for tag in tags} <= {"none", "abi3", ABI}, tags
    assert all(tag.endswith("-any") or tag.endswith("_aarch64") for tag in tags), tags
    assert all(e.endswith(".abi3.so") or e.endswith(f".cpython-{ABI[2:]}-aarch64-linux-gnu.so")
               for e in extensions), extensions


def _clean_env(**changes: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_PYTHON", "PYTHON313")}
    env.update(changes)
    return env


def test_packaging_refuses_in_one_line_without_the_runtimes_interpreter(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "deploy.aws.package", "--stage", "dev", "--app", "orders",
                           "--build-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=_clean_env(LAMBDA_PYTHON=str(tmp_path / "missing" / "python3.13")))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"make package: LAMBDA_PYTHON={tmp_path}/missing/python3.13 is not a working "
                                   f"python3.13, the Lambda runtime (deploy/project.py); point it at a python3.13 "
                                   f"or unset it"), proc.stderr
    assert not (tmp_path / "orders").exists()


def test_the_refusal_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", _clean_env(PATH=str(tmp_path), PYENV_ROOT=str(tmp_path)))
    with pytest.raises(runtimes.RuntimeNotFound) as caught:
        runtimes.interpreter()
    assert str(caught.value) == ("the Lambda runtime is python3.13 (deploy/project.py) but no python3.13 is on PATH "
                                 "or in pyenv; install it (pyenv install 3.13) or set "
                                 "LAMBDA_PYTHON=/path/to/python3.13")
    assert "\n" not in str(caught.value)
