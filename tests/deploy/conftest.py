"""Deploy checks: all four packages (2 apps x dev/prod, arm64 as the stages say) and the dev packages for
x86_64, the architecture this machine can import, packaged once per session into the benchmark's package
directory (deploy/build/bench/<arch>/<app>/<stage>). deploy.aws.package keeps a package built from the
same inputs, so a run after a change rebuilds what changed and a run without one checks the packages
as they are; the bench measures the same ones."""
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest

from deploy.aws.package import package_all
from deploy.perf.bench.packages import PACKAGES as BENCH_PACKAGES
from deploy.project import APPS
from tests.support.packaging import Package

STAGES = ("dev", "prod")
PACKAGES = [(app.name, stage) for app in APPS for stage in STAGES]


@pytest.fixture(scope="session")
def build_dir() -> Path:
    build = BENCH_PACKAGES / "arm64"
    started = time.monotonic()
    lines = package_all([app.name for app in APPS], list(STAGES), build)
    print(f"\n{len(PACKAGES)} packages in {time.monotonic() - started:.1f} s:", "; ".join(lines))
    return build


@pytest.fixture(scope="session")
def x86_64_build() -> Path:
    """dev packages built with --arch x86_64 (aarch64 code raises ImportError on this x86-64 machine)."""
    build = BENCH_PACKAGES / "x86_64"
    package_all([app.name for app in APPS], ["dev"], build, arch="x86_64")
    return build


@pytest.fixture(scope="session")
def packages(build_dir: Path) -> Dict[Tuple[str, str], Package]:
    return {(app, stage): Package(app, stage, build_dir / app / stage) for app, stage in PACKAGES}


@pytest.fixture(params=PACKAGES, ids=[f"{a}-{s}" for a, s in PACKAGES])
def pkg(request: pytest.FixtureRequest, packages: Dict[Tuple[str, str], Package]) -> Package:
    return packages[request.param]
