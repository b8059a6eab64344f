"""The zips after the build step: our code inside, runtime-provided packages out, unchecked-hash bytecode
(for the declared runtime), and the package importing like Lambda does under that runtime, SnapStart hooks
included."""
import json
import os
import re
import subprocess
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

import pytest

from deploy.aws import runtimes
from deploy.aws.build_step import BuildError, build_package_dir, check_runtime, runtime_provided
from deploy.project import LAMBDA_RUNTIME
from tests.support.packaging import Package

ZIPS = ("deployment.zip", "layer-deployment.zip")
# Written independently of deploy/aws/build_step.py: any top-level entry of these distributions.
RUNTIME_PROVIDED = re.compile(
    r"(^|site-packages/)(boto3|botocore|s3transfer|jmespath|urllib3|dateutil|six"
    r"|python[_-]dateutil)([/.]|-[^/]*\.(dist-info|egg-info|data)/)", re.IGNORECASE)
CACHE_TAG = "cpython-" + LAMBDA_RUNTIME.removeprefix("python").replace(".", "")  # the runtime's, not this Python's


def names(path: Path) -> List[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def pyc_flags(data: bytes) -> int:
    assert data[:4] == runtime_magic()
    return int.from_bytes(data[4:8], "little")


@lru_cache(maxsize=None)
def runtime_magic() -> bytes:
    """The declared runtime's bytecode magic number (this Python's differs)."""
    code = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    return bytes.fromhex(subprocess.run([str(runtimes.ensure_venv()), "-c", code], capture_output=True, text=True,
                                        check=True).stdout)


def test_vendored_shared_code_is_inside_the_deployment_zip(pkg: Package) -> None:
    shared = pkg.project.path / "chalicelib" / "shared"
    with zipfile.ZipFile(pkg.dir / "deployment.zip") as zf:
        for source in sorted(shared.glob("*.py")):
            assert zf.read(f"chalicelib/shared/{source.name}") == source.read_bytes(), source.name
        assert "app.py" in zf.namelist()


@pytest.mark.parametrize("artifact", ZIPS)
def test_nothing_the_lambda_runtime_provides_is_shipped(pkg: Package, artifact: str) -> None:
    assert [n for n in names(pkg.dir / artifact) if RUNTIME_PROVIDED.search(n)] == []


def test_chalice_output_did_contain_runtime_packages(packages: Dict) -> None:
    """Guards the test above: the raw layer has botocore (via aws-xray-sdk), so stripping is needed."""
    raw = names(packages[("users", "dev")].dir / "chalice" / "layer-deployment.zip")
    assert any(RUNTIME_PROVIDED.search(n) for n in raw)


@pytest.mark.parametrize("artifact", ZIPS)
def test_every_module_is_precompiled_with_unchecked_hash(pkg: Package, artifact: str) -> None:
    with zipfile.ZipFile(pkg.dir / artifact) as zf:
        entries = set(zf.namelist())
        sources = [n for n in entries if n.endswith(".py")]
        assert sources
        for source in sources:
            directory, _, filename = source.rpartition("/")
            pyc = f"{directory + '/' if directory else ''}__pycache__/{filename[:-3]}.{CACHE_TAG}.pyc"
            assert pyc in entries, f"{artifact}: {source} has no {pyc}"
            assert pyc_flags(zf.read(pyc)) == 0b01, f"{pyc} is not an unchecked-hash pyc"


# Test aids that once shipped: the tests keep them now (tests/support/idempotency.py's failable store,
# seeding `repo.items`) and the local stack holds creates itself (deploy/local/create_delay.py).
TEST_AIDS = ("fail_with", "put_raw", "LOCAL_CREATE_DELAY", "create_delay")
# The API docs are the local gateway's (deploy/local/docs.py): no Swagger UI, no /docs in a Lambda app.
LOCAL_ONLY = ("swagger", "oauth2-redirect", "deploy.local")


def test_no_test_aid_ships(pkg: Package) -> None:
    with zipfile.ZipFile(pkg.dir / "deployment.zip") as zf:
        sources = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".py")}
    assert "app.py" in sources and any(n.startswith("chalicelib/") for n in sources)
    found = sorted((name, aid) for name, text in sources.items() for aid in TEST_AIDS if aid in text)
    assert found == []


def test_no_api_docs_ship(pkg: Package) -> None:
    """Neither the docs code nor Swagger UI's files (Chalice and Powertools mention Swagger themselves)."""
    with zipfile.ZipFile(pkg.dir / "deployment.zip") as zf:
        own = {n: zf.read(n).decode("utf-8") for n in zf.namelist()
               if n == "app.py" or (n.startswith("chalicelib/") and n.endswith(".py"))}
    assert sorted((name, word) for name, text in own.items() for word in LOCAL_ONLY if word in text) == []
    shipped = [*names(pkg.dir / "deployment.zip"), *names(pkg.dir / "layer-deployment.zip")]
    assert [n for n in shipped if n.rsplit("/", 1)[-1] in ("swagger-ui-bundle.js", "oauth2-redirect.html", "docs.py")] \
        == []


def test_layer_keeps_the_packages_the_apps_need(pkg: Package) -> None:
    tops = {n.split("/")[4] for n in names(pkg.dir / "layer-deployment.zip") if n.count("/") >= 4}
    assert "aws_lambda_powertools" in tops
    assert "aws_xray_sdk" not in tops  # the X-Ray SDK's support ends 2027-02-25: tracing is OpenTelemetry
    assert not tops & {"gunicorn", "watchfiles"}  # the local stack's server and reloader (requirements-dev.txt)
    if pkg.app == "users":
        assert "jwt" in tops and "cryptography" in tops


# ---------------------------------------------------------------- the build step on a small zip

def _zip(path: Path, files: Dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def test_build_step_strips_and_compiles(tmp_path: Path) -> None:
    site = f"python/lib/{LAMBDA_RUNTIME}/site-packages/"
    src = tmp_path / "src"
    src.mkdir()
    _zip(src / "layer-deployment.zip", {
        site + "six.py": "x = 1\n",
        site + "six-1.17.0.dist-info/METADATA": "",
        site + "botocore/__init__.py": "",
        site + "python_dateutil-2.9.0.post0.dist-info/RECORD": "",
        site + "dateutil/tz.py": "",
        site + "jmespath-1.1.0.data/scripts/jp.py": "",
        site + "botocore_stubs/__init__.py": "",   # not the runtime's: kept
        site + "sixer.py": "y = 2\n",             # not six: kept
        site + "pkg/__pycache__/stale.cpython-311.pyc": "garbage",
    })
    _zip(src / "deployment.zip", {"app.py": "import sixer\n", "chalicelib/__init__.py": "",
                                  "urllib3/__init__.py": ""})
    reports = build_package_dir(src, tmp_path / "out")
    layer = names(tmp_path / "out" / "layer-deployment.zip")
    kept = sorted({n[len(site):].split("/")[0] for n in layer})
    assert kept == ["__pycache__", "botocore_stubs", "sixer.py"]
    assert not any("stale" in n for n in layer)
    deployment = names(tmp_path / "out" / "deployment.zip")
    assert sorted(deployment) == ["__pycache__/app.%s.pyc" % CACHE_TAG, "app.py",
                                  "chalicelib/__init__.py", "chalicelib/__pycache__/__init__.%s.pyc" % CACHE_TAG]
    assert reports[1].removed == ["botocore", "dateutil", "jmespath-1.1.0.data",
                                  "python_dateutil-2.9.0.post0.dist-info", "six-1.17.0.dist-info", "six.py"]
    # bytecode records where Lambda unpacks the code, for readable tracebacks
    with zipfile.ZipFile(tmp_path / "out" / "deployment.zip") as zf:
        assert b"/var/task/app.py" in zf.read("__pycache__/app.%s.pyc" % CACHE_TAG)


def test_build_step_is_deterministic(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _zip(src / "deployment.zip", {"app.py": "x = 1\n", "b/c.py": "y = 2\n"})
    build_package_dir(src, tmp_path / "one")
    build_package_dir(src, tmp_path / "two")
    assert (tmp_path / "one" / "deployment.zip").read_bytes() == (tmp_path / "two" / "deployment.zip").read_bytes()


def test_build_step_refuses_a_runtime_it_cannot_compile_for() -> None:
    with pytest.raises(BuildError, match="python3.99"):
        check_runtime({"Resources": {"Fn": {"Properties": {"Runtime": "python3.99"}}}})
    check_runtime({"Resources": {"Fn": {"Properties": {"Runtime": LAMBDA_RUNTIME}}}})


@pytest.mark.parametrize("entry, dist", [
    ("six.py", "six"), ("botocore", "botocore"), ("boto3-1.44.8.dist-info", "boto3"),
    ("python_dateutil-2.9.0.post0.dist-info", "python_dateutil"), ("dateutil", "python_dateutil"),
    ("s3transfer", "s3transfer"), ("urllib3-2.8.0.dist-info", "urllib3"), ("jmespath-1.1.0.data", "jmespath"),
    ("jwt", None), ("aws_xray_sdk", None), ("sixer.py", None), ("boto3_stubs", None),
])
def test_runtime_provided_names(entry: str, dist: object) -> None:
    assert runtime_provided(entry) == dist


# ---------------------------------------------------------------- a Lambda-like cold import

IMPORT_ENV = {
    "users": {"USERS_TABLE": "users-t", "USER_POOL_ID": "us-east-1_Abc", "APP_CLIENT_ID": "client"},
    "orders": {"ORDERS_TABLE": "orders-t", "IDEMPOTENCY_TABLE": "idem-t",
               "USER_POOL_ARN": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc"},
}


def lambda_like(built: Path, root: Path, app: str, *extra: Path) -> Dict[str, str]:
    """The package unzipped under `root` (task/, opt/) and an environment like Lambda's for the runtime venv's
    python: the task root, the layer, then (`extra` and) the runtime's boto3 on the path, the stage's variables."""
    task, opt = root / "task", root / "opt"
    for directory, artifact in ((task, "deployment.zip"), (opt, "layer-deployment.zip")):
        with zipfile.ZipFile(built / artifact) as zf:
            zf.extractall(directory)
    site = opt / "python" / "lib" / LAMBDA_RUNTIME / "site-packages"
    runtime = runtimes.VENV / "lib" / LAMBDA_RUNTIME / "site-packages"  # boto3 as the Lambda runtime has it
    return {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "LAMBDA_TASK_ROOT": str(task),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONPATH": os.pathsep.join(map(str, (task, site, *extra, runtime))), **IMPORT_ENV[app]}


def run_runtime(code: str, env: Dict[str, str], cwd: Path, *flags: str) -> "subprocess.CompletedProcess[str]":
    """`code` under the declared runtime's interpreter (not this Python), without its venv's site-packages."""
    return subprocess.run([str(runtimes.ensure_venv()), "-S", *flags, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("app", ["users", "orders"])
def test_built_package_imports_from_bytecode_only(x86_64_build: Path, app: str, tmp_path: Path) -> None:
    """Unzipped like Lambda, under the declared runtime, with the runtime's boto3 after the layer on sys.path:
    the handler imports, no module of ours or of the layer is compiled from source, botocore is the
    runtime's. (The x86_64 build: the arm64 one, which deploys, holds aarch64 code this machine cannot load.)"""
    env = lambda_like(x86_64_build / app / "dev", tmp_path, app)
    task = tmp_path / "task"
    proc = run_runtime("import app, botocore; print('BOTOCORE=' + botocore.__file__)", env, task, "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from_source = [line for line in proc.stderr.splitlines()
                   if line.startswith("# code object from") and str(tmp_path) in line and ".pyc" not in line]
    assert from_source == []
    assert any(line.startswith("# code object from") and str(task) in line for line in proc.stderr.splitlines())
    runtime = runtimes.VENV / "lib" / LAMBDA_RUNTIME / "site-packages"
    assert proc.stdout.strip().endswith(str(runtime / "botocore" / "__init__.py"))


FAKE_SNAPSHOT_RESTORE = """
HOOKS = []


def register_after_restore(hook):
    HOOKS.append(hook)
"""

AFTER_RESTORE = """
import json, random, sys
import snapshot_restore_py, app
hooks = snapshot_restore_py.HOOKS
random.seed(7)
snapshotted = [random.random() for _ in range(3)]
random.seed(7)  # the state a snapshot carries
for hook in hooks:
    hook()
restored = [random.random() for _ in range(3)]
print(json.dumps({"hooks": [h.__module__ + "." + h.__name__ for h in hooks], "reseeded": restored != snapshotted,
                  "version": list(sys.version_info[:2])}))
"""


@pytest.mark.parametrize("app", ["users", "orders"])
def test_snapstart_hooks_register_and_run_on_the_runtime(x86_64_build: Path, app: str, tmp_path: Path) -> None:
    """The after-restore hooks (chalicelib_shared/snapstart.py) on the packaged code, under the declared
    runtime with a stand-in for its `snapshot_restore_py`: app.py registers one hook, and running it after a
    "restore" reseeds `random` (and, for users, forgets the JWKS cache's clock readings without failing)."""
    fake = tmp_path / "runtime-modules"
    fake.mkdir()
    (fake / "snapshot_restore_py.py").write_text(FAKE_SNAPSHOT_RESTORE)
    env = lambda_like(x86_64_build / app / "dev", tmp_path, app, fake)
    proc = run_runtime(AFTER_RESTORE, env, tmp_path / "task")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"hooks": ["app._restored"], "reseeded": True,
                      "version": list(runtimes.declared_version())}, proc.stdout
