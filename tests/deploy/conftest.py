"""Deploy checks: build all four packages (2 apps x dev/prod, arm64 as the stages say) once per session,
offline, and the dev packages for x86_64, the architecture this machine can import."""
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest

from deploy.aws.package import package_all
from deploy.project import APPS
from tests.support.packaging import Package

STAGES = ("dev", "prod")
PACKAGES = [(app.name, stage) for app in APPS for stage in STAGES]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("deploy-build")
    started = time.monotonic()
    package_all([app.name for app in APPS], list(STAGES), build)
    print(f"\npackaged {len(PACKAGES)} packages in {time.monotonic() - started:.1f} s")
    return build


@pytest.fixture(scope="session")
def x86_64_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dev packages built with --arch x86_64 (aarch64 code raises ImportError on this x86-64 machine)."""
    build = tmp_path_factory.mktemp("deploy-build-x86_64")
    package_all([app.name for app in APPS], ["dev"], build, arch="x86_64")
    return build


@pytest.fixture(scope="session")
def packages(build_dir: Path) -> Dict[Tuple[str, str], Package]:
    return {(app, stage): Package(app, stage, build_dir / app / stage) for app, stage in PACKAGES}


@pytest.fixture(params=PACKAGES, ids=[f"{a}-{s}" for a, s in PACKAGES])
def pkg(request: pytest.FixtureRequest, packages: Dict[Tuple[str, str], Package]) -> Package:
    return packages[request.param]
