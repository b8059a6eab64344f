"""The packages the bench measures: deploy/build/<app>/dev, reused when fresh, else built with
deploy.aws.package (what `make package` runs)."""
import os
import time
from pathlib import Path
from typing import Callable, Dict, List

from deploy.perf.bench.fixtures import STAGE
from deploy.project import APPS, BUILD, ROOT
from deploy.project import app as app_named


def package_dir(app: str) -> Path:
    return BUILD / app / STAGE


def package_outputs(app: str) -> List[Path]:
    out = package_dir(app)
    return [out / "sam.json", out / "deployment.zip", out / "layer-deployment.zip",
            out / "chalice" / "deployment.zip", out / "chalice" / "layer-deployment.zip"]


def package_inputs(app: str) -> List[Path]:
    files = [app_named(app).template, ROOT / "deploy" / "aws" / "package.py",
             ROOT / "deploy" / "aws" / "build_step.py"]
    for dirpath, dirnames, filenames in os.walk(app_named(app).path):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "deployments", "deployed", "venv")]
        files.extend(Path(dirpath) / f for f in filenames if not f.endswith(".pyc"))
    return files


def package_is_fresh(app: str) -> bool:
    """Fresh = every output exists and is newer than every input (mtimes)."""
    outputs = package_outputs(app)
    if not all(p.is_file() for p in outputs):
        return False
    newest_input = max(p.stat().st_mtime for p in package_inputs(app) if p.exists())
    return min(p.stat().st_mtime for p in outputs) >= newest_input


def ensure_packages(rebuild: bool, log: Callable[[str], None]) -> Dict[str, str]:
    """Package the apps that are stale (or all with `rebuild`); returns app -> 'reused'|'built'."""
    from deploy.aws.package import package

    state = {}
    for app in (a.name for a in APPS):
        if not rebuild and package_is_fresh(app):
            state[app] = "reused"
            continue
        log(f"packaging {app}/{STAGE} (deploy.aws.package) ...")
        started = time.monotonic()
        package(app, STAGE)
        state[app] = "built"
        log(f"  done in {time.monotonic() - started:.1f} s")
    return state
