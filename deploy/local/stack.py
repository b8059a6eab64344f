"""The offline local stack: DynamoDB Local, moto's Cognito, and both APIs behind the strict gateway.

    python -m deploy.local.stack run    # foreground (make dev); Ctrl-C stops every process it started
    python -m deploy.local.stack up     # background (make up); returns once every endpoint answers
    python -m deploy.local.stack down   # stop a background (or foreground) stack (make down)

Ports (environment variables, defaults): LOCAL_DYNAMODB_PORT=8000, LOCAL_COGNITO_PORT=9229 (moto: Cognito,
CloudFormation, Secrets Manager), LOCAL_USERS_PORT=3001, LOCAL_ORDERS_PORT=3002, LOCAL_AUTH_PORT=9230 (the
hosted login page, deploy/local/hosted_ui.py: CognitoLoginURL opens it at http://localhost:9230/login; it
also serves /oauth2/authorize, /oauth2/token, /oauth2/userInfo and /logout over moto's Cognito, and every
start registers the callback URLs it accepts on the local app client). LOCAL_AUTH_CODE_TTL_S (default 300)
is how long its authorization codes live. Each API also serves its interactive docs at
http://localhost:<its port>/docs (Swagger UI, deploy/local/docs.py; the banner names them).
LOCAL_WORKERS (default 2) worker processes per API.
LOCAL_AUTORELOAD=0|1 (default 1 for `run`, 0 for `up`): a saved change under users_app/, orders_app/
or chalicelib_shared/ restarts the affected API's workers (deploy/local/watch.py).
LOCAL_STATE_DIR (default .local/) holds the DynamoDB data (dynamodb/), moto's recording
(cognito-recording.jsonl), its format version (state-version, deploy/local/state.py), logs (logs/), the
running stack's PIDs (stack.json) and, while it runs, outputs.json (the same keys the CloudFormation
stacks output; moto answers describe-stacks with them too, deploy/local/cfn.py). Delete the directory to
start afresh.

The same `Stack` class is used by the integration-test fixture (free ports, in-memory DynamoDB).
"""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Sequence

from deploy.local.processes import (
    NotServing,
    ProcessError,
    alive,
    dynamodb_command,
    dynamodb_lib_dir,
    kill_group,
    port_in_use,
    spawn,
    terminate,
    wait_for_http,
)
from deploy.project import APP_DIRS, LOCAL_STATE, ORDERS, REGION, ROOT, USERS, stage_env

PORTS = {  # component -> (environment variable, default port)
    "dynamodb": ("LOCAL_DYNAMODB_PORT", 8000),
    "cognito": ("LOCAL_COGNITO_PORT", 9229),
    USERS.dir: ("LOCAL_USERS_PORT", 3001),
    ORDERS.dir: ("LOCAL_ORDERS_PORT", 3002),
    "auth": ("LOCAL_AUTH_PORT", 9230),  # the hosted login page (CognitoLoginURL, deploy/local/hosted_ui.py)
}
MARKERS = {  # what a component's command line contains (checked before `down` signals a PID)
    "dynamodb": "LoopbackDynamoDB", "cognito": "deploy.local.moto_server",
    USERS.dir: "deploy.local.server", ORDERS.dir: "deploy.local.server",
    "reloader": "deploy.local.watch", "auth": "deploy.local.hosted_ui",
}
STOP_ORDER = ("reloader", *APP_DIRS, "auth", "cognito", "dynamodb")  # nothing restarts an API while it stops
START_TIMEOUT = 60.0


class StackError(Exception):
    """A failure to report as one line (what happened and what to do)."""


def default_state_dir() -> Path:
    return Path(os.environ.get("LOCAL_STATE_DIR") or LOCAL_STATE).resolve()


def default_ports() -> Dict[str, int]:
    ports = {}
    for name, (env, default) in PORTS.items():
        value = os.environ.get(env, str(default))
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise StackError(f"{env}={value!r} is not a port number: set it to a free port (1-65535)")
        ports[name] = int(value)
    return ports


def autoreload_setting(default: bool) -> bool:
    """LOCAL_AUTORELOAD=0|1 overrides a command's default (on for `run`, off for `up`)."""
    value = os.environ.get("LOCAL_AUTORELOAD", "").strip()
    if not value:
        return default
    if value not in ("0", "1"):
        raise StackError(f"LOCAL_AUTORELOAD={value!r}: set it to 1 (reload on save) or 0 (off)")
    return value == "1"


@dataclass
class StackConfig:
    state_dir: Path = field(default_factory=default_state_dir)
    ports: Dict[str, int] = field(default_factory=default_ports)
    persistent: bool = True          # DynamoDB -dbPath + Cognito recording; False: -inMemory, no recording
    workers: int = field(default_factory=lambda: int(os.environ.get("LOCAL_WORKERS", "2")))
    apps: Sequence[str] = APP_DIRS
    detach: bool = False             # children outlive this process (`up`); else they get SIGTERM when it dies
    apps_to_console: bool = False    # app logs to our stdout (`run`) as well as to logs/<app>.log
    autoreload: bool = False         # restart an API's workers when its code is saved (`run`)
    write_state: bool = True         # outputs.json + stack.json in state_dir
    extra_app_env: Dict[str, str] = field(default_factory=dict)  # e.g. LOCAL_CREATE_DELAY_MS for tests
    say: Callable[[str], None] = print  # a one-line notice while starting (state moved aside)


class Stack:
    """Start/stop the local stack. `start()` returns the outputs (also written to outputs.json)."""

    def __init__(self, config: Optional[StackConfig] = None) -> None:
        self.config = config or StackConfig()
        self.procs: Dict[str, subprocess.Popen] = {}
        self.outputs: Dict[str, Any] = {}
        self.app_env: Dict[str, str] = {}
        self._logs: List[IO[Any]] = []
        self._tees: List[threading.Thread] = []

    # -- paths --------------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def recording_file(self) -> Path:
        return self.state_dir / "cognito-recording.jsonl"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.config.ports[name]}"

    # -- start --------------------------------------------------------------------------------
    def start(self) -> Dict[str, Any]:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Dict[str, Any]:
        self._check_can_start()
        self._prepare_state()
        self._start_emulators()
        pool = self._set_up_cognito()
        self.app_env = self._app_env(pool)
        self._start_apis()
        self._start_login_page(pool)
        specs = self._create_tables()  # while the apps load
        self.outputs = self._outputs(pool, specs)
        self._publish_stacks()
        self._wait("auth", self.endpoint("auth") + "/error")
        for app in self.config.apps:
            self._wait(app, self.endpoint(app) + "/")
        if self.config.write_state:
            self._write_state()
        return self.outputs

    def _check_can_start(self) -> None:
        """Refuse before anything starts: too few workers, DynamoDB Local missing, a port taken, or
        another stack running from this state dir."""
        cfg = self.config
        if cfg.workers < 2:
            raise StackError(f"LOCAL_WORKERS={cfg.workers}: each API needs at least 2 workers")
        try:
            dynamodb_lib_dir()
        except ProcessError as exc:
            raise StackError(str(exc)) from None
        for name in ["dynamodb", "cognito", "auth", *cfg.apps]:
            if port_in_use(cfg.ports[name]):
                env = PORTS[name][0]
                raise StackError(f"port {cfg.ports[name]} ({name}) is already in use: stop what uses it "
                                 f"(`make down` if it is an old local stack) or set {env} to a free port")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        if cfg.write_state:
            running = read_state(self.state_dir)
            if running and any(alive(p["pid"], p["marker"]) for p in running["processes"].values()):
                raise StackError(f"a local stack is already running (PIDs in {self.state_dir / 'stack.json'}): "
                                 f"run `make down` first")

    def _prepare_state(self) -> None:
        """A persistent state dir written by another format version is moved aside (deploy/local/state.py)."""
        from deploy.local import state

        if self.config.persistent:
            notice = state.prepare(self.state_dir)
            if notice:
                self.config.say(notice)

    def _start_emulators(self) -> None:
        """DynamoDB Local and moto's server (through our launcher: AWS-shaped ids, writes-only recording),
        started together; returns once both answer."""
        from deploy.local import cognito

        self._spawn_dynamodb()
        self._spawn("cognito", [sys.executable, "-m", "deploy.local.moto_server", "-H", "127.0.0.1",
                                "-p", str(self.config.ports["cognito"])],
                    env=cognito.moto_env(self.recording_file if self.config.persistent else None))
        self._wait("cognito", f"{self.endpoint('cognito')}/moto-api/")
        self._wait("dynamodb", self.endpoint("dynamodb"))

    def _set_up_cognito(self) -> Any:
        """The user pool, app client, admin group and admin user (a persistent stack first replays
        its recording, so a restart keeps them and their ids), and the app client's OAuth settings for
        the login page (deploy/local/hosted_ui.py; not recorded, redone every start); returns the cognito.Pool."""
        from deploy.local import cognito, hosted_ui

        idp_url = self.endpoint("cognito")
        admin_group = stage_env(USERS).get("ADMIN_GROUP_NAME", "apiAdmins")
        try:
            if self.config.persistent:
                cognito.restore(idp_url, self.recording_file)
            idp = cognito.idp_client(idp_url)
            pool = cognito.ensure_pool(idp, admin_group)
            hosted_ui.register_client(idp, pool.pool_id, pool.client_id, hosted_ui.callback_urls(
                [self.config.ports[app] for app in APP_DIRS if app in self.config.ports]))
            cognito.ensure_user(idp, pool.pool_id, cognito.ADMIN_EMAIL, cognito.ADMIN_PASSWORD, [admin_group])
        except Exception as exc:  # noqa: BLE001 - one line, with where to look
            raise StackError(f"setting up Cognito failed ({type(exc).__name__}: {exc}); "
                             f"see {self.log_file('cognito')}") from None
        return pool

    def _app_env(self, pool: Any) -> Dict[str, str]:
        """What the APIs get on top of their `local` stage: the emulators' endpoints and the pool's ids."""
        from deploy.local import cognito

        idp_url = self.endpoint("cognito")
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint("dynamodb"),
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": idp_url,
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            **cognito.FAKE_CREDENTIALS,
            "AWS_EC2_METADATA_DISABLED": "true",
            "USER_POOL_ID": pool.pool_id,
            "APP_CLIENT_ID": pool.client_id,
            "USER_POOL_ARN": cognito.pool_arn(pool.pool_id),
            "JWT_ISSUER": cognito.issuer(pool.pool_id),
            "JWKS_URL": cognito.jwks_url(idp_url, pool.pool_id),
            **self.config.extra_app_env,
        }

    def _start_apis(self) -> None:
        """One strict-gateway server per app (not waited for here), and the reloader if asked."""
        cfg = self.config
        for app in cfg.apps:
            self._spawn(app, [sys.executable, "-m", "deploy.local.server", app,
                              "--port", str(cfg.ports[app]), "--workers", str(cfg.workers),
                              "--auth-port", str(cfg.ports["auth"]),
                              *(["--reload"] if cfg.autoreload else [])],
                        env=self.app_env, console=cfg.apps_to_console)
        if cfg.autoreload and cfg.apps:
            self._spawn_reloader()

    def _start_login_page(self, pool: Any) -> None:
        """The hosted login page over moto's Cognito (not waited for here). It gets the apps' environment
        (moto's endpoint, region, dummy credentials, and extra_app_env such as LOCAL_AUTH_CODE_TTL_S)."""
        self._spawn("auth", [sys.executable, "-m", "deploy.local.hosted_ui", "--port", str(self.config.ports["auth"]),
                             "--idp-url", self.endpoint("cognito"), "--pool-id", pool.pool_id], env=self.app_env)

    def _create_tables(self) -> List[Any]:
        """The tables the merge templates define, created if missing; returns their specs."""
        from deploy.local import tables

        try:
            specs = tables.table_specs()
            tables.ensure_tables(self.ddb_client(), specs)
        except Exception as exc:  # noqa: BLE001 - one line, with where to look
            raise StackError(f"creating the tables failed ({type(exc).__name__}: {exc}); "
                             f"see {self.log_file('dynamodb')}") from None
        return specs

    def _outputs(self, pool: Any, specs: List[Any]) -> Dict[str, Any]:
        """The same keys the CloudFormation stacks output (an app not started has an empty endpoint)."""
        from deploy.local import cfn
        from deploy.local.hosted_ui import localhost_origin

        apps = self.config.apps
        names_by_id = {spec.logical_id: spec.name for spec in specs}
        return {
            "Region": REGION,
            "CognitoEndpointUrl": self.endpoint("cognito"),
            "DynamoDBEndpointUrl": self.endpoint("dynamodb"),
            "users": {
                "APIEndpoint": self.endpoint(USERS.dir) if USERS.dir in apps else "",
                "UserPool": pool.pool_id,
                "UserPoolClient": pool.client_id,
                "UserPoolAdminGroupName": pool.admin_group,
                "UsersTable": names_by_id["UsersTable"],
                "CognitoLoginURL": cfn.login_url(localhost_origin(self.config.ports["auth"]), pool.client_id),
                "CognitoAuthCommand": cfn.auth_command(REGION, pool.client_id),
            },
            "orders": {
                "OrdersServiceEndpoint": self.endpoint(ORDERS.dir) if ORDERS.dir in apps else "",
                "OrdersTable": names_by_id["OrdersTable"],
                "IdempotencyTable": names_by_id["IdempotencyTable"],
            },
        }

    def _publish_stacks(self) -> None:
        """moto answers CloudFormation for the stage's two stacks with this start's outputs (deploy/local/cfn.py)."""
        from deploy.local import cfn, cognito

        client = cognito.moto_client("cloudformation", self.endpoint("cognito"), read_timeout=60)
        try:
            for section, name in cfn.STACK_NAMES.items():
                cfn.publish(client, name, self.outputs[section])
        except Exception as exc:  # noqa: BLE001 - one line, with where to look
            raise StackError(f"publishing the outputs as CloudFormation stacks failed ({type(exc).__name__}: "
                             f"{exc}); see {self.log_file('cognito')}") from None

    def _spawn_dynamodb(self) -> None:
        db_path = self.state_dir / "dynamodb" if self.config.persistent else None
        if db_path is not None:
            db_path.mkdir(exist_ok=True)
        try:
            command = dynamodb_command(self.config.ports["dynamodb"], db_path)
        except ProcessError as exc:
            raise StackError(str(exc)) from None
        self._spawn("dynamodb", command, env={})

    def _spawn_reloader(self) -> None:
        """The watcher that restarts the APIs on save: its own process, so `run` and a detached `up`
        reload the same way, and `down` stops it like any other component."""
        servers = [f"{app}={self.procs[app].pid}" for app in self.config.apps]
        self._spawn("reloader", [sys.executable, "-m", "deploy.local.watch", "--skip", str(self.state_dir),
                                 *servers], env={}, console=self.config.apps_to_console)

    def restart_dynamodb(self) -> None:
        """Start DynamoDB Local again (same port and data) after it was stopped: for fault tests."""
        self._spawn_dynamodb()
        self._wait("dynamodb", self.endpoint("dynamodb"))

    def worker_pids(self, app: str) -> List[int]:
        """The PIDs of `app`'s gateway workers (children of its server process)."""
        pid = self.procs[app].pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return sorted(int(p) for p in text.split())

    def _spawn(self, name: str, cmd: List[str], env: Dict[str, str], console: bool = False) -> None:
        # No real AWS profile, and none of Chalice's CLI markers: the apps must know they serve (they
        # refuse placeholder settings then) rather than think `chalice package` is importing them.
        dropped = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CHALICE_CLI_MODE", "CHALICE_WORKER")
        full_env = {k: v for k, v in os.environ.items() if k not in dropped}
        full_env.update(env)
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        log = open(self.log_file(name), "ab", buffering=0)  # unbuffered: one write() per line
        self._logs.append(log)
        try:
            self.procs[name] = proc = spawn(cmd, subprocess.PIPE if console else log, full_env, self.config.detach)
        except OSError as exc:
            raise StackError(f"cannot start {name} ({cmd[0]}: {exc.strerror})") from None
        if console:
            tee = threading.Thread(target=_tee, args=(proc.stdout, log), name=f"tee-{name}", daemon=True)
            tee.start()
            self._tees.append(tee)

    def _wait(self, name: str, url: str) -> None:
        try:
            wait_for_http(url, self.procs[name], START_TIMEOUT)
        except NotServing as exc:
            if exc.returncode is None:
                raise StackError(f"{name} did not answer on {url} within {START_TIMEOUT:.0f}s: "
                                 f"see {self.log_file(name)}") from None
            where = "the output above" if self.config.apps_to_console and name in APP_DIRS \
                else str(self.log_file(name))
            raise StackError(f"{name} exited while starting (exit code {exc.returncode}): see {where}") from None

    def _write_state(self) -> None:
        state = {"processes": {name: {"pid": proc.pid, "marker": MARKERS[name]}
                               for name, proc in self.procs.items()},
                 "outputs": str(self.state_dir / "outputs.json")}
        _write_json(self.state_dir / "stack.json", state)
        _write_json(self.state_dir / "outputs.json", self.outputs)

    # -- clients ------------------------------------------------------------------------------
    def ddb_client(self) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        from deploy.local.cognito import FAKE_CREDENTIALS
        return boto3.client("dynamodb", endpoint_url=self.endpoint("dynamodb"), region_name=REGION,
                            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                            config=BotoConfig(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}))

    # -- stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every process this object started (apps first), by PID; remove outputs.json."""
        if self.config.write_state and self.outputs:
            for name in ("outputs.json", "stack.json"):
                (self.state_dir / name).unlink(missing_ok=True)
        order = [n for n in STOP_ORDER if n in self.procs]
        for name in order:
            terminate(self.procs[name].pid)
        for name in order:
            proc = self.procs[name]
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                proc.wait(timeout=5)
        self.procs.clear()
        for tee in self._tees:  # the children are gone: their pipes reach EOF
            tee.join(timeout=5)
        self._tees.clear()
        for handle in self._logs:
            handle.close()
        self._logs.clear()


def _tee(pipe: IO[bytes], log: IO[bytes]) -> None:
    """Copy a child's output, line by line, to the log file and to our stdout (`make dev` shows the
    apps' output and still keeps logs/<app>.log, e.g. for a traceback after a broken save)."""
    for line in iter(pipe.readline, b""):
        log.write(line)
        try:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
        except (OSError, ValueError):  # no console any more: keep the log going
            pass
    pipe.close()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def read_state(state_dir: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((state_dir / "stack.json").read_text())
    except (OSError, ValueError):
        return None


# -- CLI ------------------------------------------------------------------------------------------
def banner(stack: Stack) -> str:
    from deploy.local.cognito import ADMIN_EMAIL, ADMIN_PASSWORD
    out = stack.outputs
    users, orders = out["users"]["APIEndpoint"], out["orders"]["OrdersServiceEndpoint"]
    rel = os.path.relpath(stack.state_dir, Path.cwd())
    py = os.path.relpath(sys.executable, Path.cwd()) if sys.executable.startswith(str(ROOT)) else sys.executable
    # deploy.local.token finds outputs.json in the default state dir unless told otherwise
    state = "" if stack.state_dir == LOCAL_STATE.resolve() else f"LOCAL_STATE_DIR={shlex.quote(str(stack.state_dir))} "
    return "\n".join([
        "Local stack is up.",
        f"  users API   {users}   (collection {users}/users; custom authorizer)",
        f"  orders API  {orders}   (collection {orders}/orders; Cognito authorizer)",
        f"  DynamoDB    {out['DynamoDBEndpointUrl']}   moto (Cognito, CloudFormation, Secrets Manager) "
        f"{out['CognitoEndpointUrl']}",
        f"  user pool   {out['users']['UserPool']}   app client {out['users']['UserPoolClient']}",
        f"  login page  {out['users']['CognitoLoginURL']}",
        *docs_lines(stack),
        f"  admin user  {ADMIN_EMAIL}   password {ADMIN_PASSWORD}   (group {out['users']['UserPoolAdminGroupName']})",
        f"  outputs     {rel}/outputs.json   logs {rel}/logs/",
        *(["  reload      on save under users_app/, orders_app/, chalicelib_shared/   (LOCAL_AUTORELOAD=0: off)"]
          if stack.config.autoreload else []),
        "Get an ID token:",
        f"  TOKEN=$({state}{py} -m deploy.local.token {ADMIN_EMAIL} '{ADMIN_PASSWORD}')",
        "Call the APIs:",
        f"  curl -s -H \"Authorization: $TOKEN\" {users}/users",
        f"  curl -s -H \"Authorization: $TOKEN\" {orders}/orders",
        "The AWS CLI and boto3 (the workshop's commands and tests) reach this stage with:",
        *(f"  {line}" for line in export_lines(out)),
    ])


def docs_lines(stack: Stack) -> List[str]:
    """Where each API's docs page is (deploy/local/docs.py): on localhost, as the login page requires."""
    from deploy.local.hosted_ui import localhost_origin

    labels = {USERS.dir: "users docs ", ORDERS.dir: "orders docs"}
    lines = [f"  {labels[app]} {localhost_origin(stack.config.ports[app])}/docs"
             for app in stack.config.apps if app in labels]
    if lines:
        lines[0] += "   (Swagger UI; Authorize logs in on the login page, Try it out calls the API)"
    return lines


def export_lines(outputs: Dict[str, Any]) -> List[str]:
    """The shell lines that point the AWS CLI and boto3 at this stage: moto for every service but DynamoDB
    (Cognito, the stage's CloudFormation stacks, Secrets Manager), DynamoDB Local for DynamoDB (without its
    own variable `aws dynamodb` would reach moto's DynamoDB), the region, dummy credentials, and the two
    stack names as the workshop's integration tests read them. deploy/aws/target.py makes `make deploy`
    and `make admin STAGE=dev|prod` refuse to run while these endpoints are set."""
    from deploy.local import cfn
    from deploy.local.cognito import FAKE_CREDENTIALS

    region = outputs["Region"]
    return [
        f"export AWS_ENDPOINT_URL={outputs['CognitoEndpointUrl']}",
        f"export AWS_ENDPOINT_URL_DYNAMODB={outputs['DynamoDBEndpointUrl']}",
        f"export AWS_DEFAULT_REGION={region} AWS_REGION={region}",
        " ".join(["export", *(f"{name}={value}" for name, value in FAKE_CREDENTIALS.items())]),
        f"export USERS_STACK_NAME={cfn.STACK_NAMES['users']} ORDERS_STACK_NAME={cfn.STACK_NAMES['orders']}",
    ]


def cmd_run() -> int:
    stack = Stack(StackConfig(apps_to_console=True, autoreload=autoreload_setting(True)))
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print("Starting DynamoDB Local, Cognito (moto), the login page and both APIs ...", flush=True)
        started = time.monotonic()
        stack.start()
        print(banner(stack), flush=True)
        print(f"Started in {time.monotonic() - started:.1f}s. Ctrl-C stops everything.", flush=True)
        while True:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    raise StackError(f"{name} exited unexpectedly (exit code {proc.returncode}); "
                                     f"stopping the stack (see {stack.log_file(name)})")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
        return 0
    except StackError as exc:
        stack.stop()
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1


def cmd_up() -> int:
    stack = Stack(StackConfig(detach=True, autoreload=autoreload_setting(False)))
    started = time.monotonic()
    try:
        stack.start()
    except (StackError, KeyboardInterrupt) as exc:
        print(f"error: {exc or 'interrupted'}", file=sys.stderr)
        return 1
    print(banner(stack))
    print(f"Started in {time.monotonic() - started:.1f}s. `make down` stops it.")
    return 0


def cmd_down() -> int:
    state_dir = default_state_dir()
    state = read_state(state_dir)
    if state is None:
        print("No local stack is running (no stack.json in "
              f"{os.path.relpath(state_dir, Path.cwd())}).")
        (state_dir / "outputs.json").unlink(missing_ok=True)
        return 0
    procs = state["processes"]
    order = [n for n in STOP_ORDER if n in procs]
    running = [n for n in order if alive(procs[n]["pid"], procs[n]["marker"])]
    for name in running:
        terminate(procs[name]["pid"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(procs[n]["pid"], procs[n]["marker"]) for n in running):
        time.sleep(0.1)
    for name in running:
        if alive(procs[name]["pid"], procs[name]["marker"]):
            kill_group(procs[name]["pid"])
    for name in ("outputs.json", "stack.json"):
        (state_dir / name).unlink(missing_ok=True)
    print(f"Stopped {', '.join(running) if running else 'nothing (it was not running)'}.")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("run", "up", "down"):
        print("usage: python -m deploy.local.stack run|up|down", file=sys.stderr)
        return 2
    try:
        return {"run": cmd_run, "up": cmd_up, "down": cmd_down}[args[0]]()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
