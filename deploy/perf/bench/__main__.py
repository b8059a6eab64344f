"""Cold start and request path benchmark on the real packaged artifacts (README.md, "Performance (`make bench`)").

    python -m deploy.perf.bench [--quick] [--json PATH] [--runs N] [--iterations N] [--rebuild] [--strict]

What it measures and how: deploy/perf/bench/__init__.py. This module runs the four parts in order
and prints the report (report.py).
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from deploy.perf.bench.artifacts import artifact_report
from deploy.perf.bench.authorizer import JwksServer
from deploy.perf.bench.cold import bench_cold
from deploy.perf.bench.dynamo import BenchDynamo
from deploy.perf.bench.fixtures import STAGE, BenchError
from deploy.perf.bench.packages import ensure_packages
from deploy.perf.bench.report import evaluate, render
from deploy.perf.bench.sandbox import Sandbox
from deploy.perf.bench.warm import bench_warm
from deploy.project import APPS, BUILD, LAMBDA_RUNTIME

DEFAULT_JSON = BUILD / "bench.json"
APP_NAMES = [a.name for a in APPS]


def run(quick: bool = False, runs: Optional[int] = None, iterations: Optional[int] = None,
        rebuild: bool = False, log: Callable[[str], None] = print) -> Dict[str, Any]:
    runs = runs or (3 if quick else 15)
    iterations = iterations or (10 if quick else 200)
    started = time.monotonic()
    results: Dict[str, Any] = {"quick": quick, "runs": runs, "iterations": iterations,
                               "runtime": LAMBDA_RUNTIME, "stage": STAGE}  # what the children run under
    results["packages"] = ensure_packages(rebuild, log)
    sandbox = Sandbox()
    ddb = BenchDynamo(sandbox.root / "dynamodb.log")
    jwks = JwksServer().start()  # the users authorizer's cold starts (z) fetch their keys here
    try:
        for app in APP_NAMES:
            for variant in ("a", "b"):
                sandbox.prepare(app, variant)
        log("starting DynamoDB Local (in memory) ...")
        ddb.start()
        _measure(results, sandbox, ddb.url, jwks, 200 if quick else 3000, log)
    finally:
        jwks.stop()
        ddb.stop()
        sandbox.cleanup()
    results["checks"] = evaluate(results)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    return results


def _measure(results: Dict[str, Any], sandbox: Sandbox, ddb_url: str, jwks: JwksServer, auth_iterations: int,
             log: Callable[[str], None]) -> None:
    """1. cold starts, 2 + 3. the warm path and authorizer per app, 4. artifacts, into `results`."""
    log(f"cold starts: {results['runs']} runs x (a, b, c) x {len(APP_NAMES)} apps, and (z) for users ...")
    pyc_before = sandbox.bytecode_files()
    # --quick (make test's form) asserts no timing: no unmeasured warm-up runs
    results["cold"] = bench_cold(sandbox, ddb_url, jwks, results["runs"], sandbox.root, log,
                                 warm_up=not results["quick"])
    if sandbox.bytecode_files() != pyc_before:
        raise BenchError("a cold-start child wrote bytecode into the unzipped package: runs are not cold")
    results["warm"] = {}
    for app in APP_NAMES:
        log(f"warm path: {app} ...")
        warm = bench_warm(sandbox, app, ddb_url, results["iterations"], auth_iterations, sandbox.root)
        auth = warm.pop("authorizer", None)
        if auth:
            results["authorizer"] = auth
        results["warm"][app] = warm
    results["artifacts"] = {app: artifact_report(app) for app in APP_NAMES}


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
    print(f"\n(runtime {results['runtime']}, stage {STAGE}, packages {results['packages']}, "
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
