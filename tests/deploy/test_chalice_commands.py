"""Chalice's own commands in the app folders: `chalice local` and `chalice deploy` stop at once, non-zero, with one
line naming what to run instead; a function started with a stage's placeholder settings (what
`chalice deploy` would create) fails its init naming the variable. `chalice package` is covered by
every packaging test (conftest's `build_dir` runs it for both apps and stages).

Each command runs in a subprocess: Chalice's CLI sets AWS_CHALICE_CLI_MODE for the rest of a process.
"""
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import boto3
import pytest

from deploy.local.processes import free_port
from deploy.project import APP_DIRS as APPS
from deploy.project import ROOT, stage_env
from tests.support.emulated_account import moto_account

CHALICE = str(Path(sys.executable).with_name("chalice"))
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1"}


def cli_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("CHALICE_WORKER", "PYTHONPATH")}
    return {**env, **FAKE_AWS, **extra}


def processes_tagged(tag: str) -> List[int]:
    """PIDs whose environment carries `tag` (what a command left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{output}"
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("autoreload", [True, False], ids=["autoreload", "no-autoreload"])
@pytest.mark.parametrize("stage", ["local", "dev"])
@pytest.mark.parametrize("app", APPS)
def test_chalice_local_stops_at_once_naming_make_dev(app: str, stage: str, autoreload: bool) -> None:
    tag, port = f"CHALICE_LOCAL_TEST_{uuid.uuid4().hex}", free_port()
    args = [CHALICE, "local", "--stage", stage, "--port", str(port)] + ([] if autoreload else ["--no-autoreload"])
    started = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT / app, env=cli_env(**{tag: "1"}), capture_output=True, text=True,
                          timeout=60)
    elapsed = time.monotonic() - started
    line = one_line(proc.stdout + proc.stderr)
    assert proc.returncode != 0, "a script that runs chalice local would believe it started"
    assert "chalice local cannot serve" in line and "`make dev`" in line
    assert ("custom authorizer" if app == "users_app" else "Cognito tokens") in line
    assert elapsed < 30, f"took {elapsed:.1f}s to stop"
    assert not listening(port)
    assert processes_tagged(tag) == [], "chalice local left a process running"


@pytest.fixture(scope="module")
def account() -> Iterator[str]:
    with moto_account() as endpoint:
        yield endpoint


def account_inventory(endpoint: str) -> Dict[str, List[str]]:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return {
        "functions": [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]],
        "layers": [layer["LayerName"] for layer in client("lambda").list_layers()["Layers"]],
        "roles": [role["RoleName"] for role in client("iam").list_roles()["Roles"]],
        "rest_apis": [api["name"] for api in client("apigateway").get_rest_apis()["items"]],
    }


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("app", APPS)
def test_chalice_deploy_stops_before_any_aws_call(app: str, stage: str, account: str) -> None:
    assert account_inventory(account) == {"functions": [], "layers": [], "roles": [], "rest_apis": []}
    proc = subprocess.run([CHALICE, "deploy", "--stage", stage], cwd=ROOT / app, capture_output=True, text=True,
                          env=cli_env(AWS_ENDPOINT_URL=account), timeout=120)
    line = one_line(proc.stdout + proc.stderr)
    assert proc.returncode != 0
    assert f"`make deploy STAGE={stage}`" in line and "CloudFormation stack" in line
    assert not (ROOT / app / ".chalice" / "deployed").exists()
    assert account_inventory(account) == {"functions": [], "layers": [], "roles": [], "rest_apis": []}


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("app", APPS)
def test_a_function_with_placeholder_settings_fails_its_init(app: str, stage: str) -> None:
    """What `chalice deploy` would start: the stage's settings as config.json declares them."""
    env = {**cli_env(**stage_env(app, stage)), "AWS_LAMBDA_FUNCTION_NAME": f"{app}-api_handler"}
    proc = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT / app, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("chalicelib.shared.settings.SettingsError: environment variable ")
    assert "'REPLACED_BY_MERGE_TEMPLATE'" in last or "REPLACED_BY_MERGE_TEMPLATE'" in last
    variable = last.split("environment variable ")[1].split()[0]
    assert "REPLACED_BY_MERGE_TEMPLATE" in stage_env(app, stage)[variable]
