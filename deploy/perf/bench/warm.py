"""2 + 3. The warm request path and the warm authorizer, measured inside one child per app set up
like (b): warm_child.py, run by path, Lambda-like sys.path and environment, X-Ray Sampled=0."""
import json
import subprocess
from pathlib import Path
from typing import Any, Dict

from deploy.perf.bench.fixtures import BenchError
from deploy.perf.bench.sandbox import Sandbox, child_cmd, lambda_env
from deploy.project import ROOT

WARM_CHILD = Path(__file__).with_name("warm_child.py")


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
