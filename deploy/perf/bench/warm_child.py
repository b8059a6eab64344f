"""The warm bench's child: run by path as `python -I -S -B warm_child.py` (deploy.perf.bench.warm).

sys.path is the Lambda-like one it is given (BENCH_SYS_PATH), then the checkout (BENCH_ROOT) for
the bench's own modules. The DynamoDB hooks go on boto3's default session before the app is
imported, so they see the client the app builds at init; then every route case runs (routes.py)
and, for users, the warm authorizer (authorizer.py). Results go to BENCH_RESULT as JSON.
"""
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional

sys.path[0:0] = json.loads(os.environ["BENCH_SYS_PATH"])
sys.path.append(os.environ["BENCH_ROOT"])

from deploy.perf.bench.authorizer import JwksServer, bench_authorizer  # noqa: E402 - after the paths
from deploy.perf.bench.routes import Counters, Runner, cases_for  # noqa: E402


def main() -> None:
    app_name = os.environ["BENCH_APP"]
    iterations = int(os.environ["BENCH_ITERATIONS"])
    counters = Counters()
    jwks: Optional[JwksServer] = None
    if app_name == "users":
        jwks = JwksServer().start()
        os.environ["JWKS_URL"] = jwks.url  # read once, at import
    import boto3
    from botocore.config import Config

    events = boto3._get_default_session().events  # noqa: SLF001 - the session every boto3.client() uses
    events.register("before-send.dynamodb", counters.on_send)
    events.register("creating-client-class.dynamodb", counters.on_client)
    import app as module  # after the hooks
    clients_at_import = counters.clients  # the idempotency layer must reuse the app's client: 1

    raw = boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2,
                                                 retries={"max_attempts": 2, "mode": "standard"}))
    cases, run = cases_for(app_name, raw)
    result: Dict[str, Any] = {"app": app_name, "iterations": iterations, "clients_at_import": clients_at_import,
                              "routes": Runner(module, run, counters, iterations).measure_all(cases),
                              "hook_total_sends": counters.sends}
    if jwks is not None:
        result["authorizer"] = bench_authorizer(module, jwks, int(os.environ["BENCH_AUTH_ITERATIONS"]))
    Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
