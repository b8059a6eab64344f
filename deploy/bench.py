"""Cold start and request path benchmark on the real packaged artifacts (issue 7).

    python -m deploy.bench [--quick] [--json PATH] [--runs N] [--iterations N] [--rebuild] [--strict]
    make bench                       (same as: python -m deploy.bench --json deploy/build/bench.json)

One run measures, against a DynamoDB Local the bench starts (in memory, bench tables, one user and
one order seeded):
1. Cold start per app, as Lambda pays it: a fresh `python -I -S -B` process (no venv site-packages)
   with a Lambda-like environment (LAMBDA_TASK_ROOT, function name, region, fake credentials,
   PYTHONDONTWRITEBYTECODE=1, X-Ray trace header, the dev stage's env vars), the deployment zip
   unzipped read-only as the task root, the layer unzipped read-only as /opt (chmod, advisory for
   root: the bench checks that no .pyc appeared), and sys.path like Lambda's: task root, layer, a
   "runtime" dir holding only what the Lambda runtime ships (boto3,
   botocore, s3transfer, jmespath, urllib3, dateutil, six; symlinks into the venv), then the stdlib.
   It imports `app` and serves one first request (users GET /users/{id}, orders GET /orders/{id})
   through `app.app(event, context)`. (a) = `chalice package` output, (b) = after deploy/build_step.py,
   (c) = baseline: import boto3, create the DynamoDB client, the same one GetItem; and for users,
   (z) = the authorizer's own function on the (b) artifact (_HANDLER=app.users_authorizer), whose
   first call verifies a token against a loopback JWKS (one fetch); it must import neither boto3
   nor the X-Ray SDK. Interleaved runs,
   medians. Time = from just before the parent spawns the child to the response (the child reports
   time.perf_counter(), CLOCK_MONOTONIC, comparable across processes on Linux). Plus one `python -v`
   run of (a) and (b): modules compiled from source = "# code object from <path>.py" lines (a .pyc
   load prints the quoted .pyc path instead).
2. Warm request path per route, in a child process set up like (b): p50/p99 per route next to the
   raw boto3 calls the route needs, DynamoDB round trips per call counted by a `before-send.dynamodb`
   hook on boto3's default session (registered before the app builds its client), and clients
   created per request (`creating-client-class` on the same session). X-Ray header Sampled=0 here.
3. Users authorizer warm: `app.users_authorizer(event, context)` with a token signed by a test key,
   JWKS served by a loopback HTTP server (JWKS_URL), next to a bare `jwt.decode` with the same checks;
   JWKS fetches during the timed loop.
4. Artifact sizes, zipped and unzipped, and runtime-provided packages found in them.

Packages come from deploy/build/<app>/dev (deploy.package). They are reused when fresh: every
expected file exists and is newer than every input (the app dir, deploy/<app>/template.json,
deploy/package.py, deploy/build_step.py); otherwise (or with --rebuild) the app is repackaged.
Exit status: 0 when the bench ran (target failures are printed as FAIL), 1 when the bench itself
broke (a failed request, a hook that counted nothing, a wrong package) or, with --strict, when a
target failed.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "deploy" / "build"
DEFAULT_JSON = BUILD / "bench.json"
APPS = {"users": "users_app", "orders": "orders_app"}
STAGE = "dev"
REGION = "us-east-1"
PLACEHOLDER = "REPLACED_BY_MERGE_TEMPLATE"
RUNTIME_ENTRIES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")
BENCH_TABLES = {"UsersTable": "bench-users", "OrdersTable": "bench-orders",
                "IdempotencyTable": "bench-orders-idempotency"}
POOL_ID = "us-east-1_BenchPool"
CLIENT_ID = "benchappclient0000000000000"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
ADMIN_GROUP = "apiAdmins"
SEED_SUB = "5b1c0d7e-0000-4000-8000-00000000be01"   # the seeded user (= its Cognito sub)
ADMIN_SUB = "5b1c0d7e-0000-4000-8000-00000000ad01"
SEED_ORDER = "0f0e0d0c-0000-4000-8000-000000000001"
FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}
ROUTE_TARGETS = {  # route -> (max round trips, exact?)
    "users": {"get": 1, "create": 1, "put": 1, "delete": 1, "list": 1},
    "orders": {"create": 3, "replay": 1, "get": 1, "list": 1, "edit": 1, "cancel": 1, "acknowledge": 1},
}
EXACT = {("orders", "create"): False}  # create: "at most 3"; everything else exactly the target


class BenchError(Exception):
    """The bench itself cannot produce trustworthy numbers."""


# ------------------------------------------------------------------------------------------------
# Packages: reuse fresh ones, else build with deploy.package
# ------------------------------------------------------------------------------------------------
def package_dir(app: str) -> Path:
    return BUILD / app / STAGE


def package_outputs(app: str) -> List[Path]:
    out = package_dir(app)
    return [out / "sam.json", out / "deployment.zip", out / "layer-deployment.zip",
            out / "chalice" / "deployment.zip", out / "chalice" / "layer-deployment.zip"]


def package_inputs(app: str) -> List[Path]:
    files = [ROOT / "deploy" / app / "template.json", ROOT / "deploy" / "package.py",
             ROOT / "deploy" / "build_step.py"]
    app_dir = ROOT / APPS[app]
    for dirpath, dirnames, filenames in os.walk(app_dir):
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
    from deploy.package import package

    state = {}
    for app in APPS:
        if not rebuild and package_is_fresh(app):
            state[app] = "reused"
            continue
        log(f"packaging {app}/{STAGE} (deploy.package) ...")
        started = time.monotonic()
        package(app, STAGE)
        state[app] = "built"
        log(f"  done in {time.monotonic() - started:.1f} s")
    return state


# ------------------------------------------------------------------------------------------------
# Lambda-like filesystem and environment
# ------------------------------------------------------------------------------------------------
def _extract_read_only(zip_path: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
    for dirpath, dirnames, _ in os.walk(dest, topdown=False):
        os.chmod(dirpath, 0o555)


def _make_writable(path: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)


def layer_python_paths(opt: Path) -> List[str]:
    """Lambda's layer entries on sys.path: /opt/python/lib/pythonX.Y/site-packages and /opt/python."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [str(opt / "python" / "lib" / version / "site-packages"), str(opt / "python")]


def make_runtime_dir(dest: Path) -> Path:
    """A dir with ONLY what the Lambda Python runtime ships, symlinked from this venv."""
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    dest.mkdir(parents=True)
    for entry in RUNTIME_ENTRIES:
        source = site / entry
        if not source.exists():
            raise BenchError(f"{source} is missing: the venv lacks a runtime package (run `make deps`)")
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


def stage_env(app: str) -> Dict[str, str]:
    """The dev stage's env vars from .chalice/config.json, pointed at the bench tables and pool."""
    from deploy.local.tables import stage_env as configured_env
    env = configured_env(APPS[app], STAGE)
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
        raise BenchError(f"{APPS[app]} {STAGE} stage: {', '.join(left)} still {PLACEHOLDER}: "
                         f"add them to deploy.bench.stage_env's overrides")
    return {k: str(v) for k, v in env.items()}


def lambda_env(app: str, task: Optional[Path], runtime: Path, ddb_url: str, sampled: bool,
               handler: str = "app.app", function_suffix: str = "APIHandler") -> Dict[str, str]:
    function = f"{app}-{STAGE}-{function_suffix}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task or runtime), "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench", "AWS_EXECUTION_ENV":
            f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "_HANDLER": handler, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_DYNAMODB": ddb_url, "PYTHONDONTWRITEBYTECODE": "1",
        "_X_AMZN_TRACE_ID": f"Root=1-6553f1a0-0123456789abcdef01234567;Parent=0123456789abcdef;"
                            f"Sampled={1 if sampled else 0}",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **FAKE_CREDS,
    }
    if task is not None:
        env.update(stage_env(app))
    return env


# ------------------------------------------------------------------------------------------------
# Events and contexts (also used inside the warm child)
# ------------------------------------------------------------------------------------------------
def api_event(method: str, resource: str, path_params: Optional[Dict[str, str]], authorizer: Dict[str, Any],
              body: Any = None, query: Optional[Dict[str, str]] = None, request_id: str = "bench-request") -> Dict:
    """An API Gateway REST proxy event as Lambda receives it."""
    path = resource
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    host = "abc123defg.execute-api.us-east-1.amazonaws.com"
    headers = {"Accept": "application/json", "Host": host, "User-Agent": "bench/1.0",
               "Authorization": "Bearer <verified by API Gateway>", "X-Forwarded-For": "127.0.0.1",
               "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params or None, "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": resource, "httpMethod": method, "path": f"/api{path}",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "api", "domainPrefix": "abc123defg",
            "requestTimeEpoch": 1767225600000, "requestId": request_id, "extendedRequestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench/1.0"}, "domainName": host,
            "apiId": "abc123defg", "authorizer": authorizer,
        },
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


def users_authorizer_context(sub: str, admin: bool) -> Dict[str, Any]:
    """What API Gateway puts in requestContext.authorizer after the users TOKEN authorizer allowed."""
    return {"principalId": sub, "sub": sub, "isAdmin": "true" if admin else "false", "tokenUse": "id",
            "integrationLatency": 0}


def cognito_authorizer_context(sub: str, admin: bool) -> Dict[str, Any]:
    """API Gateway's Cognito user pool authorizer: claims as strings."""
    claims = {"sub": sub, "aud": CLIENT_ID, "iss": ISSUER, "token_use": "id", "email": "bench@example.com",
              "email_verified": "true", "auth_time": "1767225600", "exp": "Thu Jan 01 01:00:00 UTC 2026",
              "iat": "Thu Jan 01 00:00:00 UTC 2026", "cognito:username": sub}
    if admin:
        claims["cognito:groups"] = ADMIN_GROUP
    return {"claims": claims}


def cold_event(app: str) -> Dict[str, Any]:
    if app == "users":
        return api_event("GET", "/users/{userid}", {"userid": SEED_SUB}, users_authorizer_context(SEED_SUB, False))
    return api_event("GET", "/orders/{orderId}", {"orderId": SEED_ORDER}, cognito_authorizer_context(SEED_SUB, False))


def authorizer_event(token: str) -> Dict[str, Any]:
    """What API Gateway sends a TOKEN authorizer."""
    return {"type": "TOKEN", "authorizationToken": token,
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123defg/api/GET/users"}


def cold_get_item(app: str) -> Dict[str, Any]:
    """The baseline's GetItem: the same request the app's first request makes."""
    if app == "users":
        return {"TableName": BENCH_TABLES["UsersTable"], "Key": {"userid": {"S": SEED_SUB}}}
    return {"TableName": BENCH_TABLES["OrdersTable"],
            "Key": {"userId": {"S": SEED_SUB}, "orderId": {"S": SEED_ORDER}},
            "ProjectionExpression": "#d", "ExpressionAttributeNames": {"#d": "data"}}


class FakeLambdaContext:
    def __init__(self, function_name: str, request_id: str = "bench-request", timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]bench"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# The cold-start child: passed with -c (no source file to compile, nothing on sys.path but the
# Lambda-like entries and the stdlib). Everything it needs comes through the environment.
COLD_CHILD = r'''
import sys, time
t_start = time.perf_counter()
import os, json
sys.path[0:0] = json.loads(os.environ["BENCH_SYS_PATH"])
if os.environ["BENCH_KIND"] == "baseline":
    import boto3
    client = boto3.client("dynamodb")
    t_init = time.perf_counter()
    response = client.get_item(**json.loads(os.environ["BENCH_GET_ITEM"]))
    t_response = time.perf_counter()
    ok, status = "Item" in response, 200
else:
    import app as handler_module
    t_init = time.perf_counter()
    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        memory_limit_in_mb = 512
        aws_request_id = "bench-cold-request"
        log_group_name = "/aws/lambda/" + function_name
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 9000
    if os.environ["BENCH_KIND"] == "authorizer":
        response = handler_module.users_authorizer(json.loads(os.environ["BENCH_EVENT"]), Context())
        t_response = time.perf_counter()
        ok = response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        status = 200 if ok else 403
    else:
        response = handler_module.app(json.loads(os.environ["BENCH_EVENT"]), Context())
        t_response = time.perf_counter()
        status = response.get("statusCode")
        ok = status == 200
mods = sys.modules
with open(os.environ["BENCH_RESULT"], "w") as out:
    json.dump({"t_start": t_start, "t_init": t_init, "t_response": t_response, "ok": ok, "status": status,
               "sys_path": sys.path, "modules": len(mods),
               "heavy": [name for name in ("boto3", "aws_xray_sdk.core") if name in mods],
               "botocore": getattr(mods.get("botocore"), "__file__", None)}, out)
'''


def child_cmd(code: str, verbose: bool = False) -> List[str]:
    return [sys.executable, "-I", "-S", "-B", *(["-v"] if verbose else []), "-c", code]


# ------------------------------------------------------------------------------------------------
# DynamoDB Local
# ------------------------------------------------------------------------------------------------
def _pdeathsig() -> None:
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class BenchDynamo:
    """An in-memory DynamoDB Local on a free loopback port, with the bench tables and seed data."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self) -> "BenchDynamo":
        from deploy.local.stack import dynamodb_lib_dir, free_port, java_launcher

        if not shutil.which("java"):
            raise BenchError("java is not on PATH: DynamoDB Local needs a Java 17+ runtime")
        lib = dynamodb_lib_dir()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["java", f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}", *java_launcher(lib),
                 "-port", str(port), "-sharedDb", "-disableTelemetry", "-inMemory"],
                cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_pdeathsig)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1).read()  # noqa: S310 - loopback
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"DynamoDB Local did not start: see {self.log_path}") from None
                time.sleep(0.05)
        self._create_tables()
        self._seed()
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client("dynamodb", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="bench", aws_secret_access_key="bench")

    def _create_tables(self) -> None:
        from deploy.local.tables import TableSpec, ensure_tables, table_specs

        specs = [TableSpec(s.logical_id, BENCH_TABLES[s.logical_id], s.properties) for s in table_specs()]
        ensure_tables(self.client(), specs)

    def _seed(self) -> None:
        ddb = self.client()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ddb.put_item(TableName=BENCH_TABLES["UsersTable"], Item=_user_item(SEED_SUB, now))
        ddb.put_item(TableName=BENCH_TABLES["OrdersTable"], Item=_order_item(SEED_SUB, SEED_ORDER, now))

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


def _user_item(userid: str, now: str) -> Dict[str, Any]:
    return {"userid": {"S": userid}, "name": {"S": "Bench User"}, "email": {"S": "bench@example.com"},
            "createdAt": {"S": now}, "updatedAt": {"S": now}, "timestamp": {"S": now}}


def _order_item(user_id: str, order_id: str, now: str, status: str = "PLACED") -> Dict[str, Any]:
    item = {"id": {"N": "1"}, "name": {"S": "Spaghetti"}, "price": {"N": "9.99"}, "quantity": {"N": "2"}}
    data = {"orderId": {"S": order_id}, "userId": {"S": user_id}, "restaurantId": {"N": "1"},
            "orderItems": {"L": [{"M": item}]}, "totalAmount": {"N": "19.98"}, "status": {"S": status},
            "orderTime": {"S": now}}
    return {"userId": {"S": user_id}, "orderId": {"S": order_id}, "data": {"M": data},
            "requestHash": {"S": "seeded-by-bench"}}


# ------------------------------------------------------------------------------------------------
# 1. Cold start
# ------------------------------------------------------------------------------------------------
def run_cold_once(sandbox: Sandbox, app: str, kind: str, ddb_url: str, workdir: Path,
                  jwks: "_JwksServer", verbose: bool = False) -> Dict[str, Any]:
    """kind: 'a' | 'b' | 'c' (baseline) | 'z' (users authorizer function, (b) artifact)."""
    if kind == "z":
        task, _ = sandbox.dirs[(app, "b")]
        env = lambda_env(app, task, sandbox.runtime, ddb_url, sampled=True, handler="app.users_authorizer",
                         function_suffix="users_authorizer")
        env.update(JWKS_URL=jwks.url, BENCH_KIND="authorizer", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(app, "b")),
                   BENCH_EVENT=json.dumps(authorizer_event(jwks.token)))
        cwd = task
    elif kind == "c":
        env = lambda_env(app, None, sandbox.runtime, ddb_url, sampled=True)
        env.update(BENCH_KIND="baseline", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(None, None)),
                   BENCH_GET_ITEM=json.dumps(cold_get_item(app)))
        cwd = sandbox.runtime
    else:
        task, _ = sandbox.dirs[(app, kind)]
        env = lambda_env(app, task, sandbox.runtime, ddb_url, sampled=True)
        env.update(BENCH_KIND="app", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(app, kind)),
                   BENCH_EVENT=json.dumps(cold_event(app)))
        cwd = task
    result_file = workdir / f"cold-{app}-{kind}-{os.getpid()}.json"
    result_file.unlink(missing_ok=True)
    env["BENCH_RESULT"] = str(result_file)
    t_spawn = time.perf_counter()
    proc = subprocess.run(child_cmd(COLD_CHILD, verbose), env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    t_exit = time.perf_counter()
    if proc.returncode != 0 or not result_file.exists():
        raise BenchError(f"cold start {app}/{kind} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(result_file.read_text())
    if not data["ok"]:
        raise BenchError(f"cold start {app}/{kind}: first request answered {data['status']}:\n"
                         f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    leaked = [p for p in data["sys_path"] if "site-packages" in p and not p.startswith(str(sandbox.root))]
    if leaked:
        raise BenchError(f"cold start child sees {leaked}: it must not see the venv")
    timing = {
        "total_ms": (data["t_response"] - t_spawn) * 1000,
        "interpreter_ms": (data["t_start"] - t_spawn) * 1000,
        "init_ms": (data["t_init"] - data["t_start"]) * 1000,
        "first_request_ms": (data["t_response"] - data["t_init"]) * 1000,
        "process_ms": (t_exit - t_spawn) * 1000,
        "modules": data["modules"], "botocore": data["botocore"], "heavy": data["heavy"],
    }
    if verbose:
        timing["stderr"] = proc.stderr
    return timing


def compiled_from_source(stderr: str, sandbox: Sandbox, app: str, variant: str) -> Dict[str, Any]:
    """Modules compiled from source, by where they live. `python -v` prints
    "# code object from '<x>.pyc'" for bytecode loads and "# code object from <x>.py" for compiles."""
    task, opt = sandbox.dirs[(app, variant)]
    where: Dict[str, List[str]] = {"task": [], "layer": [], "runtime": [], "stdlib": []}
    marker = "# code object from "
    for line in stderr.splitlines():
        if not line.startswith(marker):
            continue
        rest = line[len(marker):]
        if rest.startswith("'"):
            continue  # loaded from a .pyc
        path = rest.strip()
        if path.startswith(str(task)):
            where["task"].append(os.path.relpath(path, task))
        elif path.startswith(str(opt)):
            where["layer"].append(os.path.relpath(path, opt))
        elif path.startswith(str(sandbox.runtime)):
            where["runtime"].append(os.path.relpath(path, sandbox.runtime))
        else:
            where["stdlib"].append(path)
    pyc_loads = sum(1 for line in stderr.splitlines() if line.startswith(marker + "'"))
    return {"ours": len(where["task"]) + len(where["layer"]), "pyc_loads": pyc_loads,
            **{k: len(v) for k, v in where.items()},
            "examples": (where["task"] + where["layer"] + where["runtime"] + where["stdlib"])[:8]}


def median(values: List[float]) -> float:
    return statistics.median(values)


def cold_kinds(app: str) -> Tuple[str, ...]:
    return ("a", "b", "c", "z") if app == "users" else ("a", "b", "c")


def bench_cold(sandbox: Sandbox, ddb_url: str, jwks: "_JwksServer", runs: int, workdir: Path,
               log: Callable[[str], None]) -> Dict[str, Any]:
    kinds = [(app, kind) for app in APPS for kind in cold_kinds(app)]
    samples: Dict[Tuple[str, str], List[Dict[str, Any]]] = {k: [] for k in kinds}
    for app, kind in kinds:  # one unmeasured run each: page cache, DynamoDB Local's JIT
        run_cold_once(sandbox, app, kind, ddb_url, workdir, jwks)
    rng = random.Random(7)
    for index in range(runs):
        order = list(kinds)
        rng.shuffle(order)  # interleaved, in a varying order
        for app, kind in order:
            samples[(app, kind)].append(run_cold_once(sandbox, app, kind, ddb_url, workdir, jwks))
        log(f"  cold start run {index + 1}/{runs}")
    result: Dict[str, Any] = {"runs": runs, "apps": {}}
    for app in APPS:
        per: Dict[str, Any] = {}
        for kind in cold_kinds(app):
            values = samples[(app, kind)]
            per[kind] = {key: round(median([v[key] for v in values]), 1) for key in
                         ("total_ms", "interpreter_ms", "init_ms", "first_request_ms", "process_ms")}
            per[kind]["samples_ms"] = [round(v["total_ms"], 1) for v in values]
            per[kind]["modules"] = values[0]["modules"]
            per[kind]["botocore_from"] = _where(values[0]["botocore"], sandbox)
            per[kind]["heavy_imported"] = sorted({name for v in values for name in v["heavy"]})
        a, b, c = (per[k]["total_ms"] for k in ("a", "b", "c"))
        per["b_over_c"] = round(b / c, 3)
        per["cut"] = round((b - c) / (a - c), 3) if a > c else None  # (b-c)/(a-c)
        for variant in ("a", "b"):
            verbose = run_cold_once(sandbox, app, variant, ddb_url, workdir, jwks, verbose=True)
            per[variant]["compiled_from_source"] = compiled_from_source(verbose["stderr"], sandbox, app, variant)
        result["apps"][app] = per
    return result


def _where(path: Optional[str], sandbox: Sandbox) -> Optional[str]:
    if not path:
        return None
    if path.startswith(str(sandbox.runtime)):
        return "runtime"
    if "/opt/" in path:
        return "layer"
    if "/task/" in path:
        return "task"
    return path


# ------------------------------------------------------------------------------------------------
# 2 + 3. Warm path and authorizer: run inside a child set up like (b)
# ------------------------------------------------------------------------------------------------
WARM_CHILD = ("import sys, os, json; sys.path[0:0] = json.loads(os.environ['BENCH_SYS_PATH']); "
              "sys.path.append(os.environ['BENCH_ROOT']); from deploy.bench import warm_child; warm_child()")


def bench_warm(sandbox: Sandbox, app: str, ddb_url: str, iterations: int, auth_iterations: int,
               workdir: Path) -> Dict[str, Any]:
    task, _ = sandbox.dirs[(app, "b")]
    env = lambda_env(app, task, sandbox.runtime, ddb_url, sampled=False)
    result_file = workdir / f"warm-{app}.json"
    result_file.unlink(missing_ok=True)
    env.update(BENCH_SYS_PATH=json.dumps(sandbox.sys_path(app, "b")), BENCH_ROOT=str(ROOT), BENCH_APP=app,
               BENCH_ITERATIONS=str(iterations), BENCH_AUTH_ITERATIONS=str(auth_iterations),
               BENCH_RESULT=str(result_file))
    proc = subprocess.run(child_cmd(WARM_CHILD), env=env, cwd=str(task), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not result_file.exists():
        raise BenchError(f"warm bench {app} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(result_file.read_text())


def _percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def _stats_ms(ns: List[int]) -> Dict[str, float]:
    ms = [v / 1e6 for v in ns]
    return {"p50_ms": round(_percentile(ms, 50), 3), "p99_ms": round(_percentile(ms, 99), 3), "n": len(ms)}


class _Counters:
    def __init__(self) -> None:
        self.sends = 0
        self.clients = 0

    def on_send(self, **kwargs: Any) -> None:
        self.sends += 1

    def on_client(self, **kwargs: Any) -> None:
        self.clients += 1


def _timed(call: Callable[[int], Any], iterations: int, counters: _Counters,
           check: Callable[[Any], bool], label: str) -> Dict[str, Any]:
    times: List[int] = []
    trips: List[int] = []
    clients_before = counters.clients
    for i in range(iterations):
        sends = counters.sends
        started = time.perf_counter_ns()
        result = call(i)
        times.append(time.perf_counter_ns() - started)
        trips.append(counters.sends - sends)
        if not check(result):
            raise BenchError(f"{label}: unexpected result {str(result)[:500]}")
    return {**_stats_ms(times), "round_trips_min": min(trips), "round_trips_max": max(trips),
            "clients_created": counters.clients - clients_before}


def warm_child() -> None:
    """Entry point of the warm child (python -I -S, Lambda-like sys.path, then ROOT)."""
    app_name = os.environ["BENCH_APP"]
    iterations = int(os.environ["BENCH_ITERATIONS"])
    auth_iterations = int(os.environ["BENCH_AUTH_ITERATIONS"])
    counters = _Counters()
    jwks = None
    if app_name == "users":
        jwks = _JwksServer().start()
        os.environ["JWKS_URL"] = jwks.url  # read once, at import
    import boto3
    from botocore.config import Config

    events = boto3._get_default_session().events  # noqa: SLF001 - the session every boto3.client() uses
    events.register("before-send.dynamodb", counters.on_send)
    events.register("creating-client-class.dynamodb", counters.on_client)
    import app as module  # noqa: E402 - after the hooks
    clients_at_import = counters.clients  # the idempotency layer must reuse the app's client: 1

    raw = boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2,
                                                 retries={"max_attempts": 2, "mode": "standard"}))
    result: Dict[str, Any] = {"app": app_name, "iterations": iterations,
                              "clients_at_import": clients_at_import, "routes": {}}
    runner = _UsersRoutes if app_name == "users" else _OrdersRoutes
    result["routes"] = runner(module, raw, counters, iterations).run()
    result["hook_total_sends"] = counters.sends
    if jwks is not None:
        result["authorizer"] = _bench_authorizer(module, jwks, auth_iterations)
    Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(result))


def _ok(status: int = 200) -> Callable[[Any], bool]:
    return lambda r: isinstance(r, dict) and r.get("statusCode") == status


class _Routes:
    def __init__(self, module: Any, raw: Any, counters: _Counters, iterations: int) -> None:
        self.module, self.raw, self.counters, self.n = module, raw, counters, iterations
        self.now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._request = 0

    def call(self, event: Dict[str, Any]) -> Any:
        self._request += 1
        rid = f"bench-{self._request}"
        event["requestContext"]["requestId"] = rid
        return self.module.app(event, FakeLambdaContext(os.environ["AWS_LAMBDA_FUNCTION_NAME"], rid))

    def measure(self, name: str, app_call: Callable[[int], Any], raw_call: Callable[[int], Any],
                check: Callable[[Any], bool] = _ok(), raw_check: Callable[[Any], bool] = lambda r: True,
                warmup: int = 3, prepare: Optional[Callable[[int], None]] = None) -> Dict[str, Any]:
        if prepare:
            prepare(self.n + warmup)
        for i in range(warmup):  # warm both paths (connection pool, caches)
            app_call(self.n + i)
            raw_call(self.n + i)
        return {"app": _timed(app_call, self.n, self.counters, check, f"{name} (app)"),
                "raw": _timed(raw_call, self.n, self.counters, raw_check, f"{name} (raw)")}


class _UsersRoutes(_Routes):
    def run(self) -> Dict[str, Any]:
        table = BENCH_TABLES["UsersTable"]
        owner, admin = users_authorizer_context(SEED_SUB, False), users_authorizer_context(ADMIN_SUB, True)
        key = {"userid": {"S": SEED_SUB}}
        tag = f"{os.getpid()}"
        body = {"name": "Bench User", "email": "bench@example.com"}
        out: Dict[str, Any] = {}

        out["get"] = self.measure(
            "GET /users/{id}",
            lambda i: self.call(api_event("GET", "/users/{userid}", {"userid": SEED_SUB}, owner)),
            lambda i: self.raw.get_item(TableName=table, Key=key))
        out["create"] = self.measure(
            "POST /users",
            lambda i: self.call(api_event("POST", "/users", None, admin, body={**body, "userid": f"c-{tag}-{i}"})),
            lambda i: self.raw.put_item(TableName=table, Item=_user_item(f"r-{tag}-{i}", self.now),
                                        ConditionExpression="attribute_not_exists(userid)",
                                        ReturnValuesOnConditionCheckFailure="ALL_OLD"))
        out["put"] = self.measure(
            "PUT /users/{id}",
            lambda i: self.call(api_event("PUT", "/users/{userid}", {"userid": SEED_SUB}, owner, body=body)),
            lambda i: self.raw.update_item(
                TableName=table, Key=key, ReturnValues="ALL_NEW", ExpressionAttributeNames={"#n": "name"},
                UpdateExpression="SET #n = :n, email = :e, updatedAt = :t, createdAt = if_not_exists(createdAt, :t)",
                ExpressionAttributeValues={":n": {"S": "Bench User"}, ":e": {"S": "bench@example.com"},
                                           ":t": {"S": self.now}}))

        def seed_deletes(count: int) -> None:
            for i in range(count):
                for prefix in ("d", "rd"):
                    self.raw.put_item(TableName=table, Item=_user_item(f"{prefix}-{tag}-{i}", self.now))
        out["delete"] = self.measure(
            "DELETE /users/{id}",
            lambda i: self.call(api_event("DELETE", "/users/{userid}", {"userid": f"d-{tag}-{i}"}, admin)),
            lambda i: self.raw.delete_item(TableName=table, Key={"userid": {"S": f"rd-{tag}-{i}"}},
                                           ConditionExpression="attribute_exists(userid)"),
            prepare=seed_deletes)
        out["list"] = self.measure(
            "GET /users",
            lambda i: self.call(api_event("GET", "/users", None, admin, query={"limit": "20"})),
            lambda i: self.raw.scan(TableName=table, Limit=20))
        return out


class _OrdersRoutes(_Routes):
    def run(self) -> Dict[str, Any]:
        table, idem = BENCH_TABLES["OrdersTable"], BENCH_TABLES["IdempotencyTable"]
        owner, admin = cognito_authorizer_context(SEED_SUB, False), cognito_authorizer_context(ADMIN_SUB, True)
        tag = f"{os.getpid():x}"
        key = {"userId": {"S": SEED_SUB}, "orderId": {"S": SEED_ORDER}}
        items = [{"id": 1, "name": "Spaghetti", "price": 9.99, "quantity": 2}]
        out: Dict[str, Any] = {}

        def new_body(order_id: str) -> Dict[str, Any]:
            return {"orderId": order_id, "restaurantId": 1, "orderItems": items, "totalAmount": 19.98}

        def raw_create(i: int) -> Any:
            ident = {"S": f"orders.create#raw-{tag}-{i}"}
            self.raw.put_item(TableName=idem, Item={"id": ident, "status": {"S": "INPROGRESS"},
                                                    "expiration": {"N": str(int(time.time()) + 3600)}},
                              ConditionExpression="attribute_not_exists(id)",
                              ReturnValuesOnConditionCheckFailure="ALL_OLD")
            self.raw.put_item(TableName=table, Item=_order_item(SEED_SUB, f"raw-{tag}-{i}", self.now),
                              ConditionExpression="attribute_not_exists(orderId)",
                              ReturnValuesOnConditionCheckFailure="ALL_OLD")
            return self.raw.update_item(TableName=idem, Key={"id": ident},
                                        UpdateExpression="SET #s = :s, #d = :d",
                                        ExpressionAttributeNames={"#s": "status", "#d": "data"},
                                        ExpressionAttributeValues={":s": {"S": "COMPLETED"},
                                                                   ":d": {"S": "{}"}})
        out["create"] = self.measure(
            "POST /orders (first)",
            lambda i: self.call(api_event("POST", "/orders", None, owner, body=new_body(f"c-{tag}-{i}"))),
            raw_create)

        def raw_replay(i: int) -> Any:
            try:
                self.raw.put_item(TableName=idem, Item={"id": {"S": f"orders.create#raw-{tag}-0"}},
                                  ConditionExpression="attribute_not_exists(id)",
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
            except self.raw.exceptions.ConditionalCheckFailedException as exc:
                return exc.response
            return None
        out["replay"] = self.measure(
            "POST /orders (replay)",
            lambda i: self.call(api_event("POST", "/orders", None, owner, body=new_body(f"c-{tag}-0"))),
            raw_replay, raw_check=lambda r: r is not None)
        out["get"] = self.measure(
            "GET /orders/{id}",
            lambda i: self.call(api_event("GET", "/orders/{orderId}", {"orderId": SEED_ORDER}, owner)),
            lambda i: self.raw.get_item(TableName=table, Key=key, ProjectionExpression="#d",
                                        ExpressionAttributeNames={"#d": "data"}))
        out["list"] = self.measure(
            "GET /orders",
            lambda i: self.call(api_event("GET", "/orders", None, owner, query={"limit": "20"})),
            lambda i: self.raw.query(TableName=table, KeyConditionExpression="userId = :u",
                                     ExpressionAttributeValues={":u": {"S": SEED_SUB}},
                                     ProjectionExpression="orderId, #d", ExpressionAttributeNames={"#d": "data"},
                                     Limit=21))

        def raw_update(user: str, order_id: str, status: str, expect: str = "PLACED") -> Any:
            return self.raw.update_item(
                TableName=table, Key={"userId": {"S": user}, "orderId": {"S": order_id}},
                UpdateExpression="SET #d.#s = :s, #d.#u = :t",
                ConditionExpression="attribute_exists(orderId) AND #d.#s = :e",
                ExpressionAttributeNames={"#d": "data", "#s": "status", "#u": "updatedAt"},
                ExpressionAttributeValues={":s": {"S": status}, ":t": {"S": self.now}, ":e": {"S": expect}},
                ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
        edit = {"totalAmount": 17.5, "status": "PLACED"}
        out["edit"] = self.measure(
            "PUT /orders/{id}",
            lambda i: self.call(api_event("PUT", "/orders/{orderId}", {"orderId": SEED_ORDER}, owner, body=edit)),
            lambda i: raw_update(SEED_SUB, SEED_ORDER, "PLACED"))

        def seed_placed(prefix: str) -> Callable[[int], None]:
            def seed(count: int) -> None:
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                for i in range(count):
                    for p in (prefix, "r" + prefix):
                        self.raw.put_item(TableName=table, Item=_order_item(SEED_SUB, f"{p}-{tag}-{i}", now))
            return seed
        out["cancel"] = self.measure(
            "DELETE /orders/{id}",
            lambda i: self.call(api_event("DELETE", "/orders/{orderId}", {"orderId": f"x-{tag}-{i}"}, owner)),
            lambda i: raw_update(SEED_SUB, f"rx-{tag}-{i}", "CANCELED"), prepare=seed_placed("x"))
        out["acknowledge"] = self.measure(
            "POST /orders/{id}/acknowledge",
            lambda i: self.call(api_event("POST", "/orders/{orderId}/acknowledge", {"orderId": f"k-{tag}-{i}"},
                                          admin, body={"userId": SEED_SUB})),
            lambda i: raw_update(SEED_SUB, f"rk-{tag}-{i}", "ACKNOWLEDGED"), prepare=seed_placed("k"))
        return out


class _JwksServer:
    """A loopback JWKS endpoint with a fresh RSA key; counts the fetches it serves."""

    def __init__(self) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="bench-key", alg="RS256", use="sig")
        self.body = json.dumps({"keys": [jwk]}).encode()
        self.hits = 0
        now = int(time.time())
        self.token = jwt.encode({"sub": ADMIN_SUB, "aud": CLIENT_ID, "iss": ISSUER, "token_use": "id",
                                 "cognito:groups": [ADMIN_GROUP], "email": "bench@example.com",
                                 "iat": now, "auth_time": now, "exp": now + 3600},
                                self.key, algorithm="RS256", headers={"kid": "bench-key"})
        self.url = ""

    def start(self) -> "_JwksServer":
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server_self.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server_self.body)))
                self.end_headers()
                self.wfile.write(server_self.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/{POOL_ID}/.well-known/jwks.json"
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _bench_authorizer(module: Any, jwks: _JwksServer, iterations: int) -> Dict[str, Any]:
    import jwt

    event = authorizer_event(jwks.token)
    context = FakeLambdaContext("users-dev-users_authorizer")
    first = module.users_authorizer(event, context)  # cold: fetches the JWKS once
    if first.get("policyDocument", {}).get("Statement", [{}])[0].get("Effect") != "Allow":
        raise BenchError(f"the authorizer did not allow the bench token: {first}")
    hits_cold = jwks.hits
    public_key = jwt.PyJWK(json.loads(jwks.body)["keys"][0]).key

    def authorizer() -> Any:
        return module.users_authorizer(event, context)

    def bare() -> Any:
        return jwt.decode(jwks.token, public_key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER,
                          options={"require": ["exp", "iss", "aud"]})

    for _ in range(20):
        authorizer()
        bare()
    samples: Dict[str, List[int]] = {"authorizer": [], "bare": []}
    for _ in range(iterations):  # interleaved, so drift hits both alike
        for name, fn in (("authorizer", authorizer), ("bare", bare)):
            started = time.perf_counter_ns()
            fn()
            samples[name].append(time.perf_counter_ns() - started)
    us = {name: {"p50_us": round(_percentile(v, 50) / 1e3, 1), "p99_us": round(_percentile(v, 99) / 1e3, 1),
                 "mean_us": round(sum(v) / len(v) / 1e3, 1)} for name, v in samples.items()}
    return {**us, "iterations": iterations, "ratio_p50": round(us["authorizer"]["p50_us"] / us["bare"]["p50_us"], 3),
            "jwks_fetches_cold": hits_cold, "jwks_fetches_warm": jwks.hits - hits_cold,
            "verifier_fetches_total": module.root.parts.verifier.keys.fetches}


# ------------------------------------------------------------------------------------------------
# 4. Artifacts
# ------------------------------------------------------------------------------------------------
OUR_TOP_LEVEL = {"app.py", "chalicelib", "__pycache__"}
CHALICE_RUNTIME = "chalice"  # Chalice's own runtime (chalice/app.py), vendored by `chalice package`


def artifact_report(app: str) -> Dict[str, Any]:
    from deploy.build_step import layer_site_packages, runtime_provided

    report: Dict[str, Any] = {}
    for variant, directory in (("a", package_dir(app) / "chalice"), ("b", package_dir(app))):
        entry: Dict[str, Any] = {}
        for label, name in (("deployment", "deployment.zip"), ("layer", "layer-deployment.zip")):
            path = directory / name
            if not path.exists():
                entry[label] = None
                continue
            with zipfile.ZipFile(path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
            names = [i.filename for i in infos]
            site = layer_site_packages(names) if label == "layer" else ""
            tops = sorted({n[len(site):].split("/", 1)[0] for n in names if n.startswith(site)})
            runtime = sorted({d for d in (runtime_provided(t) for t in tops) if d})
            info = {"zipped_bytes": path.stat().st_size, "unzipped_bytes": sum(i.file_size for i in infos),
                    "files": len(infos), "pyc": sum(1 for n in names if n.endswith(".pyc")),
                    "runtime_provided": runtime}
            if label == "deployment":
                info["not_our_code"] = [t for t in tops if t not in OUR_TOP_LEVEL]
            entry[label] = info
        report[variant] = entry
    return report


# ------------------------------------------------------------------------------------------------
# Targets, table, main
# ------------------------------------------------------------------------------------------------
def evaluate(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    checks: List[Dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str, timing: bool = False) -> None:
        checks.append({"target": name, "pass": bool(ok), "detail": detail, "timing": timing})

    for app, per in results["cold"]["apps"].items():
        a, b, c = (per[k]["total_ms"] for k in "abc")
        check(f"cold {app}: (b-c) <= 0.6 x (a-c)", per["cut"] is not None and per["cut"] <= 0.6,
              f"(b-c)/(a-c) = ({b:.0f}-{c:.0f})/({a:.0f}-{c:.0f}) = {per['cut']}", timing=True)
        check(f"cold {app}: b <= 1.5 x c", per["b_over_c"] <= 1.5, f"b/c = {b:.0f}/{c:.0f} = {per['b_over_c']}",
              timing=True)
        compiled = per["b"]["compiled_from_source"]
        check(f"cold {app}: (b) compiles 0 modules from source", compiled["ours"] == 0,
              f"task {compiled['task']}, layer {compiled['layer']} (runtime {compiled['runtime']}, "
              f"stdlib {compiled['stdlib']}); (a) compiled {per['a']['compiled_from_source']['ours']}")
        if "z" in per:
            z = per["z"]["total_ms"]
            heavy = per["z"]["heavy_imported"]
            check(f"cold {app} authorizer function: imports neither boto3 nor the X-Ray SDK", not heavy,
                  f"imported: {', '.join(heavy)}" if heavy else "neither imported")
            check(f"cold {app} authorizer function: z < c", z < c,
                  f"z/c = {z:.0f}/{c:.0f} = {round(z / c, 3)} (z/b = {round(z / b, 3)})", timing=True)
    for app, warm in results["warm"].items():
        if warm["hook_total_sends"] == 0:
            check(f"warm {app}: round-trip hook counts", False, "the before-send hook saw 0 requests")
        for route, target in ROUTE_TARGETS[app].items():
            data = warm["routes"][route]["app"]
            lo, hi = data["round_trips_min"], data["round_trips_max"]
            exact = EXACT.get((app, route), True)
            ok = lo >= 1 and hi <= target and (not exact or lo == target)
            check(f"round trips {app} {route} {'==' if exact else '<='} {target}", ok,
                  f"{lo}" if lo == hi else f"{lo}..{hi}")
        check(f"warm {app}: one DynamoDB client per container", warm["clients_at_import"] == 1,
              f"{warm['clients_at_import']} created at import")
        created = sum(r["app"]["clients_created"] for r in warm["routes"].values())
        check(f"warm {app}: no client created per request", created == 0, f"{created} clients created")
    auth = results.get("authorizer")
    if auth:
        check("authorizer warm <= 1.5 x bare jwt.decode", auth["ratio_p50"] <= 1.5,
              f"p50 {auth['authorizer']['p50_us']} us vs {auth['bare']['p50_us']} us = {auth['ratio_p50']}",
              timing=True)
        check("authorizer warm: 0 JWKS fetches", auth["jwks_fetches_warm"] == 0,
              f"{auth['jwks_fetches_warm']} during {auth['iterations']} calls (cold: {auth['jwks_fetches_cold']})")
    for app, art in results["artifacts"].items():
        found = [f"{label}: {', '.join(info['runtime_provided'])}" for label, info in art["b"].items()
                 if info and info["runtime_provided"]]
        check(f"artifacts {app}: no runtime-provided package in (b)", not found, "; ".join(found) or "none")
        extra = [t for t in art["b"]["deployment"]["not_our_code"] if t != CHALICE_RUNTIME]
        check(f"artifacts {app}: deployment zip holds only our code", not extra,
              f"other: {extra}" if extra else "app.py, chalicelib (+ chalice/, Chalice's runtime module)")
    return checks


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


def render(results: Dict[str, Any]) -> str:
    lines: List[str] = []
    cold = results["cold"]
    lines.append(f"1. Cold start (median of {cold['runs']} interleaved runs, ms; spawn -> first response)")
    lines.append(f"   {'app':7} {'variant':34} {'total':>7} {'interp':>7} {'init':>7} {'1st req':>7} "
                 f"{'modules':>7} {'compiled':>8}  botocore")
    names = {"a": "(a) chalice package", "b": "(b) after build step", "c": "(c) boto3 + client + GetItem",
             "z": "(z) authorizer function, (b)"}
    for app, per in cold["apps"].items():
        for k in cold_kinds(app):
            row = per[k]
            compiled = row.get("compiled_from_source", {}).get("ours", "")
            lines.append(f"   {app:7} {names[k]:34} {row['total_ms']:7.1f} {row['interpreter_ms']:7.1f} "
                         f"{row['init_ms']:7.1f} {row['first_request_ms']:7.1f} {row['modules']:7} "
                         f"{compiled!s:>8}  {row['botocore_from']}")
        lines.append(f"   {app:7} ratios: b/c = {per['b_over_c']}   (b-c)/(a-c) = {per['cut']}   "
                     f"a/c = {round(per['a']['total_ms'] / per['c']['total_ms'], 3)}"
                     + (f"   z/c = {round(per['z']['total_ms'] / per['c']['total_ms'], 3)}" if "z" in per else ""))
    lines.append("")
    lines.append(f"2. Warm request path (in-process, DynamoDB Local, {results['iterations']} calls per route; ms)")
    lines.append(f"   {'app':7} {'route':12} {'app p50':>8} {'app p99':>8} {'raw p50':>8} {'raw p99':>8} "
                 f"{'overhead':>8} {'trips':>5} {'target':>7}")
    for app, warm in results["warm"].items():
        for route, data in warm["routes"].items():
            a, r = data["app"], data["raw"]
            trips = a["round_trips_max"] if a["round_trips_min"] == a["round_trips_max"] else \
                f"{a['round_trips_min']}-{a['round_trips_max']}"
            target = ("<=" if not EXACT.get((app, route), True) else "") + str(ROUTE_TARGETS[app][route])
            lines.append(f"   {app:7} {route:12} {a['p50_ms']:8.2f} {a['p99_ms']:8.2f} {r['p50_ms']:8.2f} "
                         f"{r['p99_ms']:8.2f} {a['p50_ms'] - r['p50_ms']:8.2f} {trips!s:>5} {target:>7}")
    auth = results.get("authorizer")
    if auth:
        lines.append("")
        lines.append(f"3. Users authorizer, warm JWKS cache ({auth['iterations']} calls, us)")
        lines.append(f"   authorizer p50 {auth['authorizer']['p50_us']}  p99 {auth['authorizer']['p99_us']}   "
                     f"bare jwt.decode p50 {auth['bare']['p50_us']}  p99 {auth['bare']['p99_us']}   "
                     f"ratio {auth['ratio_p50']}   JWKS fetches: cold {auth['jwks_fetches_cold']}, "
                     f"warm {auth['jwks_fetches_warm']}")
    lines.append("")
    lines.append("4. Artifacts (MB zipped / unzipped, files; runtime-provided packages inside)")
    for app, art in results["artifacts"].items():
        for k in "ab":
            for label in ("deployment", "layer"):
                info = art[k][label]
                if not info:
                    continue
                lines.append(f"   {app:7} {names[k][:20]:20} {label:10} {_mb(info['zipped_bytes']):>6} / "
                             f"{_mb(info['unzipped_bytes']):>6}  {info['files']:5} files {info['pyc']:5} pyc  "
                             f"runtime: {', '.join(info['runtime_provided']) or 'none'}"
                             + (f"  other: {', '.join(info['not_our_code'])}" if info.get("not_our_code") else ""))
    lines.append("")
    lines.append("Targets")
    for c in results["checks"]:
        lines.append(f"   {'PASS' if c['pass'] else 'FAIL'}  {c['target']}: {c['detail']}")
    return "\n".join(lines)


def run(quick: bool = False, runs: Optional[int] = None, iterations: Optional[int] = None,
        rebuild: bool = False, log: Callable[[str], None] = print) -> Dict[str, Any]:
    runs = runs or (3 if quick else 15)
    iterations = iterations or (10 if quick else 200)
    auth_iterations = 200 if quick else 3000
    started = time.monotonic()
    results: Dict[str, Any] = {"quick": quick, "runs": runs, "iterations": iterations,
                               "python": sys.version.split()[0], "stage": STAGE}
    results["packages"] = ensure_packages(rebuild, log)
    sandbox = Sandbox()
    ddb = BenchDynamo(sandbox.root / "dynamodb.log")
    jwks = _JwksServer().start()  # the users authorizer's cold starts (z) fetch their keys here
    try:
        for app in APPS:
            for variant in ("a", "b"):
                sandbox.prepare(app, variant)
        log("starting DynamoDB Local (in memory) ...")
        ddb.start()
        log(f"cold starts: {runs} runs x (a, b, c) x {len(APPS)} apps, and (z) for users ...")
        pyc_before = sandbox.bytecode_files()
        results["cold"] = bench_cold(sandbox, ddb.url, jwks, runs, sandbox.root, log)
        if sandbox.bytecode_files() != pyc_before:
            raise BenchError("a cold-start child wrote bytecode into the unzipped package: runs are not cold")
        results["warm"] = {}
        for app in APPS:
            log(f"warm path: {app} ...")
            warm = bench_warm(sandbox, app, ddb.url, iterations, auth_iterations, sandbox.root)
            auth = warm.pop("authorizer", None)
            if auth:
                results["authorizer"] = auth
            results["warm"][app] = warm
        results["artifacts"] = {app: artifact_report(app) for app in APPS}
    finally:
        jwks.stop()
        ddb.stop()
        sandbox.cleanup()
    results["checks"] = evaluate(results)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (the form `make test` runs)")
    parser.add_argument("--json", type=Path, help=f"write the results here (make bench: {DEFAULT_JSON})")
    parser.add_argument("--runs", type=int, help="cold start runs per variant (default 15, quick 3)")
    parser.add_argument("--iterations", type=int, help="warm calls per route (default 200, quick 10)")
    parser.add_argument("--rebuild", action="store_true", help="repackage even when deploy/build is fresh")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        results = run(args.quick, args.runs, args.iterations, args.rebuild, log)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - packaging/DynamoDB errors as one report
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(render(results))
    print(f"\n(python {results['python']}, stage {STAGE}, packages {results['packages']}, "
          f"{results['elapsed_s']} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results: {args.json}")
    broken = [c for c in results["checks"] if not c["pass"] and "hook" in c["target"]]
    failed = [c for c in results["checks"] if not c["pass"]]
    if broken or (args.strict and failed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
