"""A Lambda-like filesystem and environment for the bench's children: the artifacts unzipped
read-only (task root and /opt), a runtime dir holding only what the Lambda Python runtime ships, the
environment Lambda sets, and the interpreter: the declared runtime's (LAMBDA_RUNTIME in deploy/project.py, from
its virtualenv, deploy/aws/runtimes.py: the packaged bytecode is for that version), with `-I -S -B` (no venv,
no site-packages)."""
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from deploy.aws import runtimes
from deploy.aws.package import PLACEHOLDER
from deploy.perf.bench.fixtures import BENCH_TABLES, CLIENT_ID, FAKE_CREDS, POOL_ID, STAGE, BenchError
from deploy.perf.bench.packages import package_dir
from deploy.project import LAMBDA_RUNTIME, REGION, stage_env
from deploy.project import app as app_named

RUNTIME_ENTRIES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")


def _extract_read_only(zip_path: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    for dirpath, _dirnames, filenames in os.walk(dest):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
    for dirpath, _dirnames, _ in os.walk(dest, topdown=False):
        os.chmod(dirpath, 0o555)  # noqa: S103 - read-only like /var/task, readable by the child


def _make_writable(path: Path) -> None:
    for dirpath, _dirnames, _filenames in os.walk(path):
        os.chmod(dirpath, 0o755)  # noqa: S103 - writable again by us, to delete it


def layer_python_paths(opt: Path) -> List[str]:
    """Lambda's layer entries on sys.path: /opt/python/lib/pythonX.Y/site-packages and /opt/python."""
    return [str(opt / "python" / "lib" / LAMBDA_RUNTIME / "site-packages"), str(opt / "python")]


def make_runtime_dir(dest: Path) -> Path:
    """A dir with ONLY what the Lambda Python runtime ships, symlinked from the runtime's venv."""
    site = runtimes.ensure_venv().parents[1] / "lib" / LAMBDA_RUNTIME / "site-packages"
    dest.mkdir(parents=True)
    for entry in RUNTIME_ENTRIES:
        source = site / entry
        if not source.exists():
            raise BenchError(f"{source} is missing: the runtime venv lacks a runtime package "
                             f"(requirements-package.txt)")
        (dest / entry).symlink_to(source)
        if entry.endswith(".py"):  # a top-level module's bytecode lives in site-packages/__pycache__
            for pyc in (site / "__pycache__").glob(entry[:-3] + ".*.pyc"):
                (dest / "__pycache__").mkdir(exist_ok=True)
                (dest / "__pycache__" / pyc.name).symlink_to(pyc)
    return dest


class Sandbox:
    """Unzipped artifacts for (a) and (b) of each app, plus the runtime dir, in a temp dir."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-"))
        self.runtime = make_runtime_dir(self.root / "runtime")
        self.dirs: Dict[Tuple[str, str], Tuple[Path, Path]] = {}

    def prepare(self, app: str, variant: str) -> Tuple[Path, Path]:
        src = package_dir(app) / "chalice" if variant == "a" else package_dir(app)
        base = self.root / f"{app}-{variant}"
        task, opt = base / "task", base / "opt"
        _extract_read_only(src / "deployment.zip", task)
        if (src / "layer-deployment.zip").exists():
            _extract_read_only(src / "layer-deployment.zip", opt)
        else:
            opt.mkdir(parents=True)
        self.dirs[(app, variant)] = (task, opt)
        return task, opt

    def bytecode_files(self) -> int:
        """.pyc files in the unzipped artifacts (chmod is advisory for root: this proves nothing was written)."""
        return sum(1 for task, opt in self.dirs.values() for d in (task, opt) for _ in d.rglob("*.pyc"))

    def sys_path(self, app: Optional[str], variant: Optional[str]) -> List[str]:
        if app is None:
            return [str(self.runtime)]
        task, opt = self.dirs[(app, variant or "b")]
        return [str(task), *layer_python_paths(opt), str(self.runtime)]

    def cleanup(self) -> None:
        _make_writable(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def bench_stage_env(app: str) -> Dict[str, str]:
    """The dev stage's env vars from .chalice/config.json, pointed at the bench tables and pool."""
    env = stage_env(app, STAGE)
    overrides = {
        "USERS_TABLE": BENCH_TABLES["UsersTable"], "ORDERS_TABLE": BENCH_TABLES["OrdersTable"],
        "IDEMPOTENCY_TABLE": BENCH_TABLES["IdempotencyTable"], "USER_POOL_ID": POOL_ID,
        "APP_CLIENT_ID": CLIENT_ID, "USER_POOL_ARN": f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{POOL_ID}",
    }
    for key in env:
        if key in overrides:
            env[key] = overrides[key]
    left = [k for k, v in env.items() if PLACEHOLDER in str(v)]
    if left:
        raise BenchError(f"{app_named(app).dir} {STAGE} stage: {', '.join(left)} still {PLACEHOLDER}: "
                         f"add them to the overrides of deploy.perf.bench.sandbox.bench_stage_env")
    return {k: str(v) for k, v in env.items()}


def lambda_env(app: str, task: Optional[Path], runtime: Path, ddb_url: str, sampled: bool,
               handler: str = "app.app", function_suffix: str = "APIHandler") -> Dict[str, str]:
    function = f"{app}-{STAGE}-{function_suffix}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task or runtime), "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench", "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}",
        "_HANDLER": handler, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_DYNAMODB": ddb_url, "PYTHONDONTWRITEBYTECODE": "1",
        "_X_AMZN_TRACE_ID": f"Root=1-6553f1a0-0123456789abcdef01234567;Parent=0123456789abcdef;"
                            f"Sampled={1 if sampled else 0}",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **FAKE_CREDS,
    }
    if task is not None:
        env.update(bench_stage_env(app))
    return env


def child_cmd(script: Path, verbose: bool = False) -> List[str]:
    """How the bench runs a child program: under the runtime's interpreter, isolated (-I), without
    site-packages (-S), writing no bytecode (-B); `verbose` adds -v, whose import lines tell bytecode
    loads from compiles."""
    return [str(runtimes.ensure_venv()), "-I", "-S", "-B", *(["-v"] if verbose else []), str(script)]
