"""The packages the bench measures: deploy/build/bench/<arch>/<app>/dev, built by deploy.aws.package (what
`make package` runs), which keeps a package whose inputs have not changed since it was built.

The functions deploy as arm64 by default, but this machine is x86-64 and cannot import aarch64 code
(the aarch64 `cryptography` raises ImportError), so the cold start and warm path are measured on an
x86_64 build of the same code, and the arm64 build is packaged for its artifact sizes only.
"""
import time
from pathlib import Path
from typing import Callable, Dict

from deploy.perf.bench.fixtures import STAGE
from deploy.project import APPS, BUILD

PACKAGES = BUILD / "bench"   # <arch>/<app>/<stage>: the deploy tests build and check the same packages
MEASURED = "x86_64"          # imported and timed here
SIZED_ONLY = ("arm64",)      # packaged for the artifact table
ARCHITECTURES = (MEASURED, *SIZED_ONLY)


def package_dir(app: str, arch: str = MEASURED) -> Path:
    return PACKAGES / arch / app / STAGE


def ensure_packages(rebuild: bool, log: Callable[[str], None]) -> Dict[str, str]:
    """Package each app for each architecture unless its package was built from the same inputs
    (deploy.aws.package decides); returns "<app>/<arch>" -> 'reused'|'built'."""
    from deploy.aws.package import package

    state = {}
    for arch in ARCHITECTURES:
        for app in (a.name for a in APPS):
            started = time.monotonic()
            _, kept = package(app, STAGE, PACKAGES / arch, arch, rebuild=rebuild)
            state[f"{app}/{arch}"] = "reused" if kept else "built"
            if not kept:
                log(f"packaged {app}/{STAGE} for {arch} (deploy.aws.package) in {time.monotonic() - started:.1f} s")
    return state
