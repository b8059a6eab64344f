"""1. Cold start per app, as Lambda pays it: (a) `chalice package` output, (b) after the build step,
(c) the baseline (boto3, a client, the same GetItem), (t) (b) with tracing off (TRACING=off: b - t is
what tracing costs a cold start), (z) the users authorizer's function on (b).
Each run is a fresh child (cold_child.py) in the sandbox; runs are interleaved, medians reported."""
import json
import os
import random
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from deploy.perf.bench.authorizer import JwksServer
from deploy.perf.bench.fixtures import (
    BENCH_TABLES,
    SEED_ORDER,
    SEED_SUB,
    BenchError,
    api_event,
    authorizer_event,
    cognito_authorizer_context,
    users_authorizer_context,
)
from deploy.perf.bench.sandbox import Sandbox, child_cmd, lambda_env
from deploy.project import APPS

COLD_CHILD = Path(__file__).with_name("cold_child.py")
TIMINGS = ("total_ms", "interpreter_ms", "init_ms", "first_request_ms", "process_ms")


def cold_kinds(app: str) -> Tuple[str, ...]:
    return ("a", "b", "c", "t", "z") if app == "users" else ("a", "b", "c", "t")


def cold_event(app: str) -> Dict[str, Any]:
    if app == "users":
        return api_event("GET", "/users/{userid}", {"userid": SEED_SUB}, users_authorizer_context(SEED_SUB, False))
    return api_event("GET", "/orders/{orderId}", {"orderId": SEED_ORDER}, cognito_authorizer_context(SEED_SUB, False))


def cold_get_item(app: str) -> Dict[str, Any]:
    """The baseline's GetItem: the same request the app's first request makes."""
    if app == "users":
        return {"TableName": BENCH_TABLES["UsersTable"], "Key": {"userid": {"S": SEED_SUB}}}
    return {"TableName": BENCH_TABLES["OrdersTable"],
            "Key": {"userId": {"S": SEED_SUB}, "orderId": {"S": SEED_ORDER}},
            "ProjectionExpression": "#d", "ExpressionAttributeNames": {"#d": "data"}}


def _child_setup(sandbox: Sandbox, app: str, kind: str, ddb_url: str,
                 jwks: JwksServer) -> Tuple[Dict[str, str], Path]:
    """The child's environment and working directory for `kind`."""
    if kind == "z":
        task, _ = sandbox.dirs[(app, "b")]
        env = lambda_env(app, task, sandbox.runtime, ddb_url, sampled=True, handler="app.users_authorizer",
                         function_suffix="users_authorizer")
        env.update(JWKS_URL=jwks.url, BENCH_KIND="authorizer", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(app, "b")),
                   BENCH_EVENT=json.dumps(authorizer_event(jwks.token)))
        return env, task
    if kind == "c":
        env = lambda_env(app, None, sandbox.runtime, ddb_url, sampled=True)
        env.update(BENCH_KIND="baseline", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(None, None)),
                   BENCH_GET_ITEM=json.dumps(cold_get_item(app)))
        return env, sandbox.runtime
    variant = "b" if kind == "t" else kind
    task, _ = sandbox.dirs[(app, variant)]
    env = lambda_env(app, task, sandbox.runtime, ddb_url, sampled=True)
    env.update(BENCH_KIND="app", BENCH_SYS_PATH=json.dumps(sandbox.sys_path(app, variant)),
               BENCH_EVENT=json.dumps(cold_event(app)))
    if kind == "t":
        env["TRACING"] = "off"
    return env, task


def run_cold_once(sandbox: Sandbox, app: str, kind: str, ddb_url: str, workdir: Path,
                  jwks: JwksServer, verbose: bool = False) -> Dict[str, Any]:
    """kind: 'a' | 'b' | 'c' (baseline) | 't' ((b), TRACING=off) | 'z' (users authorizer function, (b))."""
    env, cwd = _child_setup(sandbox, app, kind, ddb_url, jwks)
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
    timing = _timing(data, t_spawn, t_exit)
    if verbose:
        timing["stderr"] = proc.stderr
    return timing


def _timing(data: Dict[str, Any], t_spawn: float, t_exit: float) -> Dict[str, Any]:
    """The child's clock readings (CLOCK_MONOTONIC, comparable across processes) as durations."""
    return {
        "total_ms": (data["t_response"] - t_spawn) * 1000,
        "interpreter_ms": (data["t_start"] - t_spawn) * 1000,
        "init_ms": (data["t_init"] - data["t_start"]) * 1000,
        "first_request_ms": (data["t_response"] - data["t_init"]) * 1000,
        "process_ms": (t_exit - t_spawn) * 1000,
        "modules": data["modules"], "botocore": data["botocore"], "heavy": data["heavy"],
    }


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


def bench_cold(sandbox: Sandbox, ddb_url: str, jwks: JwksServer, runs: int, workdir: Path,
               log: Callable[[str], None], warm_up: bool = True) -> Dict[str, Any]:
    apps = [a.name for a in APPS]
    kinds = [(app, kind) for app in apps for kind in cold_kinds(app)]
    samples: Dict[Tuple[str, str], List[Dict[str, Any]]] = {k: [] for k in kinds}
    for app, kind in kinds if warm_up else ():  # one unmeasured run each: page cache, DynamoDB Local's JIT
        run_cold_once(sandbox, app, kind, ddb_url, workdir, jwks)
    rng = random.Random(7)
    for index in range(runs):
        order = list(kinds)
        rng.shuffle(order)  # interleaved, in a varying order
        for app, kind in order:
            samples[(app, kind)].append(run_cold_once(sandbox, app, kind, ddb_url, workdir, jwks))
        log(f"  cold start run {index + 1}/{runs}")
    result: Dict[str, Any] = {"runs": runs, "apps": {}}
    for app in apps:
        per: Dict[str, Any] = {kind: _summary(samples[(app, kind)], sandbox) for kind in cold_kinds(app)}
        a, b, c = (per[k]["total_ms"] for k in ("a", "b", "c"))
        per["b_over_c"] = round(b / c, 3)
        per["cut"] = round((b - c) / (a - c), 3) if a > c else None  # (b-c)/(a-c)
        per["tracing_ms"] = round(b - per["t"]["total_ms"], 1)  # what tracing adds to a cold start
        for variant in ("a", "b"):
            verbose = run_cold_once(sandbox, app, variant, ddb_url, workdir, jwks, verbose=True)
            per[variant]["compiled_from_source"] = compiled_from_source(verbose["stderr"], sandbox, app, variant)
        result["apps"][app] = per
    return result


def _summary(values: List[Dict[str, Any]], sandbox: Sandbox) -> Dict[str, Any]:
    """One variant's runs: median timings, every total, and what the first run imported."""
    summary: Dict[str, Any] = {key: round(statistics.median([v[key] for v in values]), 1) for key in TIMINGS}
    summary["samples_ms"] = [round(v["total_ms"], 1) for v in values]
    summary["modules"] = values[0]["modules"]
    summary["botocore_from"] = _where(values[0]["botocore"], sandbox)
    summary["heavy_imported"] = sorted({name for v in values for name in v["heavy"]})
    return summary


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
