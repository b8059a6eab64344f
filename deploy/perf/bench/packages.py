"""The packages the bench measures: deploy/build/bench/<arch>/<app>/dev, reused when fresh, else built
with deploy.aws.package (what `make package` runs).

The functions deploy as arm64 by default, but this machine is x86-64 and cannot import aarch64 code
(the aarch64 `cryptography` raises ImportError), so the cold start and warm path are measured on an
x86_64 build of the same code, and the arm64 build is packaged for its artifact sizes only.
"""
import json
import os
import time
from pathlib import Path
from typing import Callable, Dict, List

from deploy.perf.bench.fixtures import STAGE
from deploy.project import APPS, BUILD, LAMBDA_RUNTIME, ROOT
from deploy.project import app as app_named

MEASURED = "x86_64"          # imported and timed here
SIZED_ONLY = ("arm64",)      # packaged for the artifact table
ARCHITECTURES = (MEASURED, *SIZED_ONLY)


def package_dir(app: str, arch: str = MEASURED) -> Path:
    return BUILD / "bench" / arch / app / STAGE


def package_outputs(app: str, arch: str = MEASURED) -> List[Path]:
    out = package_dir(app, arch)
    return [out / "sam.json", out / "build.json", out / "deployment.zip", out / "layer-deployment.zip",
            out / "chalice" / "deployment.zip", out / "chalice" / "layer-deployment.zip"]


def package_inputs(app: str) -> List[Path]:
    files = [app_named(app).template, ROOT / "deploy" / "aws" / "package.py", ROOT / "deploy" / "project.py",
             ROOT / "deploy" / "aws" / "build_step.py", ROOT / "deploy" / "aws" / "rollout.py"]
    for dirpath, dirnames, filenames in os.walk(app_named(app).path):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "deployments", "deployed", "venv")]
        files.extend(Path(dirpath) / f for f in filenames if not f.endswith(".pyc"))
    return files


def package_is_fresh(app: str, arch: str = MEASURED) -> bool:
    """Fresh = every output exists, is newer than every input (mtimes) and is for `arch` and the runtime."""
    outputs = package_outputs(app, arch)
    if not all(p.is_file() for p in outputs):
        return False
    built = json.loads((package_dir(app, arch) / "build.json").read_text())
    if (built.get("architecture"), built.get("runtime")) != (arch, LAMBDA_RUNTIME):
        return False
    newest_input = max(p.stat().st_mtime for p in package_inputs(app) if p.exists())
    return min(p.stat().st_mtime for p in outputs) >= newest_input


def ensure_packages(rebuild: bool, log: Callable[[str], None]) -> Dict[str, str]:
    """Package what is stale (or all with `rebuild`); returns "<app>/<arch>" -> 'reused'|'built'."""
    from deploy.aws.package import package

    state = {}
    for arch in ARCHITECTURES:
        for app in (a.name for a in APPS):
            key = f"{app}/{arch}"
            if not rebuild and package_is_fresh(app, arch):
                state[key] = "reused"
                continue
            log(f"packaging {app}/{STAGE} for {arch} (deploy.aws.package) ...")
            started = time.monotonic()
            package(app, STAGE, BUILD / "bench" / arch, arch)
            state[key] = "built"
            log(f"  done in {time.monotonic() - started:.1f} s")
    return state
