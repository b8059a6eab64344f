"""The local stack itself: outputs file, loopback binding, the gateway's own answers, worker
processes, restart persistence, and the `up`/`down` commands."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Set
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from deploy.local import cognito, hosted_ui
from deploy.project import APP_DIRS as APPS
from deploy.project import ROOT
from tests.support.http import assert_error
from tests.support.serving import serving, worker_pids
from tests.support.stack import StackHandle, free_port_env, start_local_stack

pytestmark = pytest.mark.integration

OUTPUT_KEYS = {"Region", "CognitoEndpointUrl", "DynamoDBEndpointUrl", "users", "orders"}
USERS_KEYS = {"APIEndpoint", "UserPool", "UserPoolClient", "UserPoolAdminGroupName", "UsersTable",
              "CognitoLoginURL", "CognitoAuthCommand"}
ORDERS_KEYS = {"OrdersServiceEndpoint", "OrdersTable", "IdempotencyTable"}


def assert_outputs_schema(outputs: Dict) -> None:
    assert set(outputs) == OUTPUT_KEYS
    assert set(outputs["users"]) == USERS_KEYS
    assert set(outputs["orders"]) == ORDERS_KEYS
    assert outputs["Region"] == "us-east-1"
    for value in [outputs["CognitoEndpointUrl"], outputs["DynamoDBEndpointUrl"],
                  *outputs["users"].values(), *outputs["orders"].values()]:
        assert isinstance(value, str) and value


def test_outputs_have_exactly_the_cloudformation_keys(stack: StackHandle) -> None:
    assert_outputs_schema(stack.outputs)
    assert stack.outputs["users"]["UserPoolAdminGroupName"] == "apiAdmins"
    for logical in ("UsersTable", "OrdersTable", "IdempotencyTable"):
        assert stack.ddb.describe_table(TableName=stack.table(logical))["Table"]["TableStatus"] == "ACTIVE"


def test_ids_have_the_shapes_aws_gives_them(stack: StackHandle) -> None:
    """A pool id is the region, `_` and 9 letters or digits; an app client id 26 lower-case letters or
    digits (deploy/local/moto_ids.py makes the local ones so). The tokens name the pool in `iss`."""
    assert re.fullmatch(r"us-east-1_[0-9A-Za-z]{9}", stack.pool_id), stack.pool_id
    assert re.fullmatch(r"[0-9a-z]{26}", stack.client_id), stack.client_id
    claims = jwt.decode(stack.new_user().id_token, options={"verify_signature": False})
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{stack.pool_id}"
    assert claims["aud"] == stack.client_id


def test_tables_follow_the_deploy_templates(stack: StackHandle) -> None:
    keys = {logical: {k["AttributeName"]: k["KeyType"] for k in
                      stack.ddb.describe_table(TableName=stack.table(logical))["Table"]["KeySchema"]}
            for logical in ("UsersTable", "OrdersTable", "IdempotencyTable")}
    assert keys == {"UsersTable": {"userid": "HASH"},
                    "OrdersTable": {"userId": "HASH", "orderId": "RANGE"},
                    "IdempotencyTable": {"id": "HASH"}}
    ttl = stack.ddb.describe_time_to_live(TableName=stack.table("IdempotencyTable"))["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expiration"


def _listening_addresses(port: int) -> Set[str]:
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F",                                 # 127.0.0.1
            "0000000000000000FFFF00000100007F",         # ::ffff:127.0.0.1
            "00000000000000000000000001000000"}         # ::1


@pytest.mark.parametrize("component", ["DynamoDBEndpointUrl", "CognitoEndpointUrl", "users", "orders", "login"])
def test_every_component_listens_on_loopback_only(stack: StackHandle, local_stack_only: None,
                                                  component: str) -> None:
    url = {"users": stack.users_url, "orders": stack.orders_url,
           "login": stack.outputs["users"]["CognitoLoginURL"]}.get(component) or stack.outputs[component]
    port = urlsplit(url).port
    addresses = _listening_addresses(port)
    assert addresses, f"nothing listens on {port}"
    assert addresses <= LOOPBACK, f"{component} listens on {addresses}"


@pytest.mark.parametrize("collection", ["users", "orders"])
def test_no_token_is_a_json_401(stack: StackHandle, collection: str) -> None:
    base = stack.users_url if collection == "users" else stack.orders_url
    assert_error(requests.get(f"{base}/{collection}", timeout=10), 401)


@pytest.mark.parametrize("collection", ["users", "orders"])
def test_unsigned_token_is_a_json_401(stack: StackHandle, collection: str) -> None:
    base = stack.users_url if collection == "users" else stack.orders_url
    forged = jwt.encode({"sub": "x", "token_use": "id", "iss": "x"}, key="", algorithm="none")
    assert_error(requests.get(f"{base}/{collection}", headers={"Authorization": forged}, timeout=10), 401)


@pytest.mark.parametrize("api", ["users", "orders"])
def test_gateway_errors_are_json(stack: StackHandle, local_stack_only: None, api: str) -> None:
    base = stack.users_url if api == "users" else stack.orders_url
    assert_error(requests.get(f"{base}/no/such/route", timeout=10), 404)
    assert_error(requests.get(f"{base}/{api}", headers={"X-Big": "a" * 70_000}, timeout=10), 431)
    for method in ("BREW", "TRACE", "PATCH"):  # undeclared: API Gateway's MISSING_AUTHENTICATION_TOKEN, as deployed
        assert assert_error(requests.request(method, f"{base}/{api}", timeout=10), 404, "NotFound") == {
            "Code": "NotFound", "Message": "No such resource."}
    assert_error(requests.post(f"{base}/{api}", data=b"x" * (1024 * 1024 + 1),
                                    headers={"Content-Type": "application/json"}, timeout=10), 413)
    assert_error(_raw(base, f"POST /{api} HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"), 400)


def _raw(base: str, request: str) -> requests.Response:
    """Send a hand-written request; parse the answer into a Response-like object."""
    host, port = base.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    response = requests.Response()
    response.status_code = int(lines[0].split()[1])
    response.headers.update(dict(line.split(": ", 1) for line in lines[1:]))
    response._content = body
    return response


def test_each_api_runs_several_worker_processes(stack: StackHandle, local_stack_only: None) -> None:
    """Concurrent requests are answered by more than one worker process. One round of quick 401s can
    all land on one worker (the stack is up once one worker answers; the others may still be loading
    the app), so rounds go on until two workers have answered, for at most 20 s."""
    for app, url in (("users_app", f"{stack.users_url}/users"), ("orders_app", f"{stack.orders_url}/orders")):
        deadline = time.monotonic() + 20
        with ThreadPoolExecutor(8) as pool:
            while len(worker_pids(stack.server_output(app))) < 2 and time.monotonic() < deadline:
                list(pool.map(lambda _, url=url: requests.get(url, timeout=10), range(16)))
        assert len(worker_pids(stack.server_output(app))) >= 2, stack.server_output(app)[-2000:]


def test_a_stalled_client_pins_one_worker_not_the_api(stack: StackHandle, local_stack_only: None) -> None:
    """One connection = one worker (like a Lambda container): while a client stalls mid-request,
    another worker still answers at once."""
    host, port = stack.orders_url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(b"GET /orders HTTP/1.1\r\n")  # never finishes its headers
        time.sleep(0.2)
        started = time.monotonic()
        for _ in range(3):
            assert requests.get(f"{stack.orders_url}/orders", timeout=10).status_code == 401
        assert time.monotonic() - started < 2.0
        stalled.settimeout(15)
        answer = stalled.recv(65536)  # the worker times the stalled client out and frees itself
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def test_app_logs_reach_server_output(stack: StackHandle, local_stack_only: None) -> None:
    user = stack.new_user()
    assert requests.get(f"{stack.orders_url}/orders", headers={"Authorization": user.id_token},
                        timeout=10).status_code == 200
    output = stack.server_output("orders_app")
    assert '"GET /orders HTTP/1.1" 200' in output


def test_new_user_tokens_are_accepted(stack: StackHandle) -> None:
    user = stack.new_user()
    claims = jwt.decode(user.id_token, options={"verify_signature": False})
    assert claims["sub"] == user.sub and claims["email"] == user.email
    response = requests.get(f"{stack.orders_url}/orders", headers={"Authorization": user.id_token}, timeout=10)
    assert response.status_code == 200, response.text
    admin = stack.new_user(admin=True)
    claims = jwt.decode(admin.id_token, options={"verify_signature": False})
    assert stack.outputs["users"]["UserPoolAdminGroupName"] in claims["cognito:groups"]


SLOW_APP = """
import os, time
from chalice import Chalice
app = Chalice(app_name="slow")

@app.route("/slow/{name}")
def slow(name):
    started = time.time()
    time.sleep(0.8)
    # Chalice keeps current_request on the app: a threaded server would show another request here
    return {"pid": os.getpid(), "started": started, "name": name,
            "seen": app.current_request.uri_params["name"]}
"""


def test_workers_run_requests_in_parallel_one_each(tmp_path: Path) -> None:
    with serving(tmp_path, "slow", SLOW_APP, workers=3) as (port, _):
        for _ in range(3):  # every worker has loaded the app
            requests.get(f"http://127.0.0.1:{port}/slow/warm", timeout=10)
        started = time.monotonic()
        with ThreadPoolExecutor(3) as pool:
            results: List[Dict] = list(pool.map(
                lambda n: requests.get(f"http://127.0.0.1:{port}/slow/r{n}", timeout=10).json(), range(3)))
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"3 x 0.8 s requests took {elapsed:.2f}s: not parallel"
        assert len({r["pid"] for r in results}) == 3
        assert all(r["seen"] == r["name"] for r in results)


CHATTY_APP = """
import json, os, time
from chalice import Chalice
app = Chalice(app_name="chatty")

@app.route("/chatty/{seconds}")
def chatty(seconds):
    printed, until = 0, time.monotonic() + float(seconds)
    while time.monotonic() < until:  # Powertools prints its EMF blobs like this
        print(json.dumps({"pid": os.getpid(), "i": printed, "pad": "x" * 300}))
        printed += 1
        if printed % 20 == 0:
            time.sleep(0.002)  # bounded output: some thousands of lines a second
    return {"pid": os.getpid(), "printed": printed}
"""


def test_workers_log_lines_never_interleave(tmp_path: Path) -> None:
    """Three workers printing at once into the one log file: every line stays one JSON document
    (tests parse the orders log line by line; a glued pair of lines once failed CI)."""
    with serving(tmp_path, "chatty", CHATTY_APP, workers=3) as (port, log_path):
        with ThreadPoolExecutor(3) as pool:  # every worker has loaded the app
            list(pool.map(lambda _: requests.get(f"http://127.0.0.1:{port}/chatty/0.3", timeout=30), range(3)))
            results = list(pool.map(
                lambda _: requests.get(f"http://127.0.0.1:{port}/chatty/1", timeout=30).json(), range(3)))
        lines = [line for line in log_path.read_text().splitlines() if line.startswith('{"pid"')]
    # A worker serves one request at a time, so three 1 s requests at once ran in three workers.
    assert len({r["pid"] for r in results}) == 3
    broken = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            broken.append(line[:120])
    assert not broken, f"{len(broken)} of {len(lines)} lines interleaved, e.g. {broken[:2]}"
    assert len(lines) >= sum(r["printed"] for r in results)


def test_restart_keeps_cognito_users_and_data(tmp_path: Path) -> None:
    """Persistent state dir: same pool/client ids, same sub for the same user, data kept."""
    state = tmp_path / "state"
    first = start_local_stack(state, persistent=True, apps=())
    try:
        handle = StackHandle(first.outputs)
        user = handle.new_user()
        table = handle.table("OrdersTable")
        handle.ddb.put_item(TableName=table, Item={"userId": {"S": user.sub}, "orderId": {"S": "o-1"},
                                                   "data": {"M": {"status": {"S": "PLACED"}}}})
        before = first.outputs
    finally:
        first.stop()

    second = start_local_stack(state, persistent=True, apps=())  # new ports too
    try:
        after = second.outputs
        handle = StackHandle(after)
        assert after["users"]["UserPool"] == before["users"]["UserPool"]
        assert after["users"]["UserPoolClient"] == before["users"]["UserPoolClient"]
        tokens = cognito.login(handle.idp, handle.client_id, user.email, user.password)
        assert jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"] == user.sub
        item = handle.ddb.get_item(TableName=table, Key={"userId": {"S": user.sub}, "orderId": {"S": "o-1"}})
        assert item["Item"]["data"]["M"]["status"]["S"] == "PLACED"
        newcomer = handle.new_user()  # the replay must not rewind the id generator
        assert newcomer.sub != user.sub
        admin = cognito.login(handle.idp, handle.client_id, cognito.ADMIN_EMAIL, cognito.ADMIN_PASSWORD)
        assert jwt.decode(admin["IdToken"], options={"verify_signature": False})["cognito:groups"] == ["apiAdmins"]
        # The login page's callbacks are registered again, for this start's ports (hosted_ui.register_client).
        client = handle.idp.describe_user_pool_client(UserPoolId=handle.pool_id,
                                                      ClientId=handle.client_id)["UserPoolClient"]
        assert client["CallbackURLs"] == hosted_ui.callback_urls([second.config.ports[app] for app in APPS])
        assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    finally:
        second.stop()


def test_up_and_down_commands(tmp_path: Path) -> None:
    """`make up` / `make down` as scripts use them: outputs.json while running, nothing left after."""
    env = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state"), **free_port_env()}
    outputs_file = tmp_path / "state" / "outputs.json"
    up = subprocess.run([sys.executable, "-m", "deploy.local.stack", "up"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert f"deploy.local.token {cognito.ADMIN_EMAIL}" in up.stdout
        outputs = json.loads(outputs_file.read_text())
        assert_outputs_schema(outputs)
        assert outputs["users"]["APIEndpoint"] == f"http://127.0.0.1:{env['LOCAL_USERS_PORT']}"
        # The printed token command works as printed, in a shell that did not set LOCAL_STATE_DIR.
        [command] = [line.strip()[len("TOKEN=$("):-1] for line in up.stdout.splitlines()
                     if line.strip().startswith("TOKEN=$(")]
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
        token = subprocess.run(["bash", "-c", command], cwd=ROOT, env=shell_env, capture_output=True, text=True,
                               timeout=60)
        assert token.returncode == 0, token.stderr
        claims = jwt.decode(token.stdout.strip(), options={"verify_signature": False})
        assert claims["email"] == cognito.ADMIN_EMAIL and claims["cognito:groups"] == ["apiAdmins"]
        assert claims["iss"].endswith("/" + outputs["users"]["UserPool"]), "a token from another stack"
        processes = json.loads((tmp_path / "state" / "stack.json").read_text())["processes"]
        assert processes["auth"]["marker"] == "deploy.local.hosted_ui"  # `down` stops the login page too
        pids = [p["pid"] for p in processes.values()]
        again = subprocess.run([sys.executable, "-m", "deploy.local.stack", "up"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60)
        assert again.returncode != 0
        assert len(again.stderr.strip().splitlines()) == 1 and "Traceback" not in again.stderr
    finally:
        down = subprocess.run([sys.executable, "-m", "deploy.local.stack", "down"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert not outputs_file.exists()
    assert all(_gone(pid) for pid in pids), [pid for pid in pids if not _gone(pid)]


def _gone(pid: int, wait: float = 5.0) -> bool:
    """Whether `pid` has ended (gone, or a zombie), given `wait` seconds: `down` returns once no PID runs
    its command line any more, and a process still freeing its memory has an empty one for a moment."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if "zombie" in Path(f"/proc/{pid}/status").read_text():
                return True
        except OSError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        env = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path), "LOCAL_DYNAMODB_PORT": str(busy.getsockname()[1])}
        result = subprocess.run([sys.executable, "-m", "deploy.local.stack", "up"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "LOCAL_DYNAMODB_PORT" in result.stderr
    assert "Traceback" not in result.stderr
