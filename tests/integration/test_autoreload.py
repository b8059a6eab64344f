"""`make dev` reloads on save, like `chalice local`: a change restarts the affected API's workers
(shared code is vendored into both apps first), a broken save answers JSON 502s and the next good
save recovers, a request in flight finishes on the old code, and each API restarts once per burst.

The stack runs as `make dev` runs it (`python -m deploy.local.stack run`, LOCAL_AUTORELOAD=1) from a
temporary copy of the project, so these tests edit the copy, never the real tree. A last test checks
the server itself: without --reload a broken app still stops it (fail fast, `make up`).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import boto3
import pytest
import requests

from deploy.local import cognito
from deploy.local.processes import free_port
from deploy.local.server import LOAD_FAILED
from deploy.project import ROOT
from tests.support.stack import free_port_env

pytestmark = pytest.mark.integration

CREATE_DELAY_MS = 4000   # holds a create in its worker long enough to save a change meanwhile
RELOAD_BOUND = 8.0       # a save shows in the answers within this (generous: measured 0.7-1.6 s)
SETTLE = 1.5             # after a reload, how long a second (wrong) restart would take to show


@dataclass
class Dev:
    root: Path           # the project copy
    state: Path
    console: Path        # what `make dev` printed
    proc: subprocess.Popen
    outputs: Dict[str, Any]
    token: str           # the seeded admin's ID token

    @property
    def users(self) -> str:
        return self.outputs["users"]["APIEndpoint"]

    @property
    def orders(self) -> str:
        return self.outputs["orders"]["OrdersServiceEndpoint"]

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def lines(self, prefix: str) -> List[str]:
        return [line for line in self.output().splitlines() if line.startswith(prefix)]

    def restarts(self, app: str) -> int:
        return len(self.lines(f"{app}: reloading:"))

    def counts(self) -> Dict[str, int]:
        return {"users_app": self.restarts("users_app"), "orders_app": self.restarts("orders_app"),
                "bursts": len(self.lines("reload: "))}

    def call(self, method: str, url: str, headers: Optional[Dict[str, str]] = None,
             **kwargs: Any) -> requests.Response:
        return requests.request(method, url, headers={"Authorization": self.token, **(headers or {})},
                                timeout=30, **kwargs)


def copy_project(dest: Path) -> Path:
    """The apps, shared code and deploy/ (DynamoDB Local linked, not copied)."""
    for name in ("users_app", "orders_app", "chalicelib_shared"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "deploy", dest / "deploy",
                    ignore=shutil.ignore_patterns("node_modules", "build", "__pycache__"))
    (dest / "deploy/local/node_modules").symlink_to(ROOT / "deploy/local/node_modules")
    return dest


def wait_for(check: Callable[[], Any], what: str, timeout: float = RELOAD_BOUND, since: Optional[float] = None,
             proc: Optional[subprocess.Popen] = None) -> float:
    """Poll `check` until it is true; the seconds it took (from `since`, e.g. a save)."""
    started = time.monotonic() if since is None else since
    while not check():
        assert proc is None or proc.poll() is None, f"the stack exited while waiting for {what}"
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.05)
    return time.monotonic() - started


def save(path: Path, text: str) -> float:
    """Save as an editor does (a swap file, a backup, a temp file renamed over the original): one
    burst of changes. Returns when it was saved."""
    swap, backup = path.with_name(f".{path.name}.swp"), path.with_name(f"{path.name}~")
    swap.write_text(text)
    shutil.copy2(path, backup)
    temp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    temp.write_text(text)
    os.replace(temp, path)
    swap.unlink()
    return time.monotonic()


def edit(dev: Dev, rel: str, old: str, new: str) -> float:
    path = dev.root / rel
    text = path.read_text()
    assert old in text, f"{rel} no longer contains {old!r}"
    return save(path, text.replace(old, new, 1))


def settled(dev: Dev, expected: Dict[str, int]) -> None:
    """The restart counts are `expected` and stay so (no second restart for the same burst)."""
    wait_for(lambda: dev.counts() == expected, f"restart counts {expected} (now {dev.counts()})")
    time.sleep(SETTLE)
    assert dev.counts() == expected, dev.output()[-3000:]


def message(response: requests.Response) -> str:
    return response.json().get("Message", "") if response.headers.get("Content-Type", "").startswith(
        "application/json") else ""


def _processes_in(root: Path) -> List[int]:
    """PIDs whose working directory is inside `root` (what the stack and its workers run in)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(root):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def start_dev(root: Path, state: Path) -> Dev:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")}
    env.update({"PYTHONPATH": str(root), "LOCAL_STATE_DIR": str(state), "LOCAL_AUTORELOAD": "1",
                "LOCAL_CREATE_DELAY_MS": str(CREATE_DELAY_MS), **free_port_env()})
    console = state.parent / "console.txt"
    with open(console, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "deploy.local.stack", "run"], cwd=root, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    dev = Dev(root, state, console, proc, {}, "")
    try:
        wait_for(lambda: "Ctrl-C stops everything" in dev.output(), "the stack to start", timeout=120, proc=proc)
    except AssertionError:
        stop_dev(dev)
        raise AssertionError(dev.output()[-3000:]) from None
    dev.outputs = json.loads((state / "outputs.json").read_text())
    idp = cognito.idp_client(dev.outputs["CognitoEndpointUrl"])
    dev.token = cognito.login(idp, dev.outputs["users"]["UserPoolClient"], cognito.ADMIN_EMAIL,
                              cognito.ADMIN_PASSWORD)["IdToken"]
    return dev


def stop_dev(dev: Dev) -> None:
    """Ctrl-C, as a developer stops `make dev`; SIGKILL if it hangs (its children then get SIGTERM
    from the kernel, PR_SET_PDEATHSIG). Then nothing may be left running in the copy."""
    if dev.proc.poll() is None:
        dev.proc.send_signal(signal.SIGINT)
        try:
            dev.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dev.proc.kill()
            dev.proc.wait(timeout=10)
    wait_for(lambda: not _processes_in(dev.root), "every process of the stack to exit", timeout=15)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    if os.environ.get("INTEGRATION_OUTPUTS"):
        pytest.skip("starts its own `make dev` stack from a copy of the project")
    base = tmp_path_factory.mktemp("autoreload")
    root = copy_project(base / "project")
    running = start_dev(root, base / "state")
    try:
        yield running
    finally:
        stop_dev(running)
    assert "Stopped." in running.output()


def test_the_banner_says_it_reloads_on_save(dev: Dev) -> None:
    assert len(dev.lines("  reload      on save")) == 1


def test_a_shared_change_is_vendored_and_restarts_each_api_once(dev: Dev) -> None:
    def empty_create(url: str) -> str:
        return message(dev.call("POST", url, headers={"Content-Type": "application/json"}))

    old, new = "A JSON object body is required.", "A JSON object body is needed (saved while running)."
    assert empty_create(dev.users + "/users") == old and empty_create(dev.orders + "/orders") == old
    before = dev.counts()
    saved = edit(dev, "chalicelib_shared/http.py", old, new)
    (dev.root / "chalicelib_shared/errors.py").touch()  # the same burst touches a second file
    took = {api: wait_for(lambda url=url: empty_create(url) == new, f"{api} answering with the new message",
                          since=saved)
            for api, url in (("users", dev.users + "/users"), ("orders", dev.orders + "/orders"))}
    print(f"\nshared change live after: users {took['users']:.2f}s, orders {took['orders']:.2f}s")
    check = subprocess.run([sys.executable, "deploy/codegen/sync_shared.py", "--check"], cwd=dev.root,
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr  # vendored into both apps
    settled(dev, {"users_app": before["users_app"] + 1, "orders_app": before["orders_app"] + 1,
                  "bursts": before["bursts"] + 1})


def test_an_app_change_restarts_only_that_api(dev: Dev) -> None:
    order_id = str(uuid.uuid4())
    url = f"{dev.orders}/orders/{order_id}"
    assert message(dev.call("GET", url)) == f"Order {order_id} was not found."
    before = dev.counts()
    saved = edit(dev, "orders_app/chalicelib/orders/service.py", 'was not found."', 'does not exist (reloaded)."')
    took = wait_for(lambda: message(dev.call("GET", url)) == f"Order {order_id} does not exist (reloaded).",
                    "orders answering with the new message", since=saved)
    print(f"\norders change live after {took:.2f}s")
    settled(dev, {**before, "orders_app": before["orders_app"] + 1, "bursts": before["bursts"] + 1})


def test_a_broken_save_answers_json_502_and_the_next_good_save_recovers(dev: Dev) -> None:
    app_py = dev.root / "users_app/app.py"
    good = app_py.read_text()
    log = dev.state / "logs/users_app.log"

    def bad_gateway(expected: str) -> bool:
        response = dev.call("GET", f"{dev.users}/users")
        if response.status_code != 502:
            return False
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["Code"] == "BadGateway", body
        return expected in body["Message"]

    saved = save(app_py, good + "\ndef broken(:\n")
    took = wait_for(lambda: bad_gateway("SyntaxError"), "a JSON 502 naming the SyntaxError", since=saved)
    assert dev.call("GET", f"{dev.orders}/orders").status_code == 200  # the other API is untouched
    wait_for(lambda: "SyntaxError: invalid syntax" in log.read_text(), "the traceback in users_app.log")
    assert "SyntaxError: invalid syntax" in dev.output()  # and on the console
    save(app_py, good + "\nimport no_such_module_saved_by_the_test  # noqa\n")
    wait_for(lambda: bad_gateway("No module named 'no_such_module_saved_by_the_test'"), "a JSON 502 for the import")
    saved_fix = save(app_py, good)
    fixed = wait_for(lambda: dev.call("GET", f"{dev.users}/users").status_code == 200, "users recovering",
                     since=saved_fix)
    print(f"\nbroken save -> 502 after {took:.2f}s; fixed -> 200 after {fixed:.2f}s")
    assert dev.proc.poll() is None


def test_a_request_in_flight_during_a_save_completes(dev: Dev) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=dev.outputs["DynamoDBEndpointUrl"], region_name="us-east-1")
    table = dev.outputs["orders"]["IdempotencyTable"]
    order = {"orderId": str(uuid.uuid4()), "restaurantId": 1, "totalAmount": 9.99,
             "orderItems": [{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 1}]}
    result: Dict[str, requests.Response] = {}
    create = threading.Thread(target=lambda: result.update(r=dev.call("POST", f"{dev.orders}/orders", json=order)))
    before = dev.counts()
    create.start()
    def in_flight() -> bool:  # Powertools marks the create's record INPROGRESS while it runs
        items = ddb.scan(TableName=table)["Items"]
        return any(item.get("status", {}).get("S") == "INPROGRESS" for item in items)

    try:
        wait_for(in_flight, "the create to be in flight", timeout=10)
        edit(dev, "orders_app/chalicelib/orders/models.py", "LIST_DEFAULT_LIMIT = 50",
             "LIST_DEFAULT_LIMIT = 50  # saved in flight")
        wait_for(lambda: dev.restarts("orders_app") > before["orders_app"], "orders restarting")
    finally:
        create.join(timeout=30)
    assert result["r"].status_code == 200, result["r"].text
    assert result["r"].json()["status"] == "PLACED"
    # It was served by a worker the reload retired, which finished it after the restart began.
    restart = dev.lines("orders_app: reloading:")[-1]
    retired = restart.rsplit("old workers ", 1)[1].split(" finish")[0].split(", ")

    def served(request: str) -> List[str]:
        """The PIDs of the workers whose access log shows `request` since the restart began."""
        after = dev.output().split(restart, 1)[1]
        return [line.split("]")[0].split()[-1] for line in after.splitlines() if f'"{request} HTTP/1.1"' in line]

    wait_for(lambda: served("POST /orders"), "the create's access log line")
    assert len(served("POST /orders")) == 1 and served("POST /orders")[0] in retired, dev.output()[-3000:]
    read = f"GET /orders/{order['orderId']}"  # and a new request gets a new worker
    assert dev.call("GET", f"{dev.orders}/orders/{order['orderId']}").status_code == 200
    wait_for(lambda: served(read), "the read's access log line")
    assert served(read)[0] not in retired


def test_editor_and_bytecode_files_do_not_reload(dev: Dev) -> None:
    before = dev.counts()
    for rel in ("users_app/.app.py.swp", "users_app/app.py~", "orders_app/.#app.py",
                "orders_app/__pycache__/scratch.cpython-311.pyc", "chalicelib_shared/http.py~"):
        (dev.root / rel).parent.mkdir(exist_ok=True)
        (dev.root / rel).write_text("not source\n")
    time.sleep(SETTLE)
    assert dev.counts() == before


BROKEN_APP = "from chalice import Chalice\napp = Chalice(app_name='broken')\ndef broken(:\n"
GOOD_APP = """
from chalice import Chalice
app = Chalice(app_name="broken")

@app.route("/hello")
def hello():
    return {"hello": "again"}
"""


def test_without_reload_a_broken_app_still_stops_the_server(tmp_path: Path) -> None:
    """Fail fast where nobody is editing (`make up`, the test fixtures); with --reload the same
    app answers JSON 502s and SIGHUP after the fix brings it back."""
    project = tmp_path / "broken"
    (project / ".chalice").mkdir(parents=True)
    (project / ".chalice/config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "broken", "stages": {"local": {"api_gateway_stage": "api"}}}))
    (project / "app.py").write_text(BROKEN_APP)
    command = [sys.executable, "-m", "deploy.local.server", str(project), "--port", str(free_port())]
    stopped = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == LOAD_FAILED, stopped.stdout + stopped.stderr
    assert "the app failed to load (see the traceback above); stopping" in stopped.stderr
    assert "SyntaxError" in stopped.stderr

    port, output = free_port(), tmp_path / "server.log"
    server = subprocess.Popen([*command[:-1], str(port), "--reload"], cwd=ROOT, stdout=output.open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        def get() -> Optional[requests.Response]:
            try:
                return requests.get(f"http://127.0.0.1:{port}/hello", timeout=10)
            except requests.ConnectionError:
                return None

        wait_for(lambda: get() is not None, "the server to listen", timeout=30, proc=server)
        response = get()
        assert response is not None and response.status_code == 502
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["Code"] == "BadGateway"
        (project / "app.py").write_text(textwrap.dedent(GOOD_APP))
        server.send_signal(signal.SIGHUP)
        # A worker of the old generation that was still loading when the fix was saved may answer 200
        # before the reload retires it, while its sibling still answers 502: judge once the old are gone.
        wait_for(lambda: "reloading:" in output.read_text(), "the reload", timeout=30, proc=server)
        retired = output.read_text().split("old workers ", 1)[1].split(" finish")[0].split(", ")
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in retired), "the old workers to exit",
                 timeout=30, proc=server)
        wait_for(lambda: (r := get()) is not None and r.status_code == 200, "the fixed app", timeout=30, proc=server)
        for _ in range(4):  # every worker now serves the fix
            assert get().json() == {"hello": "again"}, output.read_text()
    finally:
        server.terminate()
        server.wait(timeout=15)
