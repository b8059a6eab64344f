"""The benchmark's smallest form (`python -m deploy.perf.bench --quick`), so `make bench` cannot rot.

No timing assertions: only that numbers come out, that the DynamoDB round trips per route, the
modules compiled from source at a (b) cold start and the JWKS fetches of a warm authorizer are
what the targets in README.md's "Performance (`make bench`)" require, and that nothing the Lambda
runtime provides is in the built artifacts.
Packages in deploy/build/bench/<arch>/<app>/dev are kept while their inputs do not change (deploy.aws.package).
"""
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from deploy.perf.bench.report import ROUTE_TARGETS
from deploy.project import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "deploy.perf.bench", "--quick", "--runs", "2", "--iterations", "5",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Targets" in proc.stdout
    return json.loads(Path(out).read_text())


def test_cold_start_numbers_and_no_compiles_after_the_build_step(results: Dict[str, Any]) -> None:
    for app, per in results["cold"]["apps"].items():
        for kind in "abc":
            assert per[kind]["total_ms"] > 0 and len(per[kind]["samples_ms"]) == 2, (app, kind)
        a, b, c = (per[kind]["total_ms"] for kind in "abc")
        assert per["b_over_c"] == round(b / c, 3)
        # (b-c)/(a-c) is only a share when (a) is slower than (c); two quick runs on a busy machine may not be
        assert per["cut"] == (round((b - c) / (a - c), 3) if a > c else None), (a, b, c, per["cut"])
        assert per["b"]["compiled_from_source"]["ours"] == 0, per["b"]["compiled_from_source"]
        # The counter works: chalice's raw package ships no bytecode, so (a) compiles our modules.
        assert per["a"]["compiled_from_source"]["ours"] > 0, per["a"]["compiled_from_source"]
        assert per["b"]["botocore_from"] == "runtime", "the runtime's botocore must not be shadowed in (b)"
        assert per["b"]["heavy_imported"] == ["boto3", "chalicelib.shared.otlp_udp"], "the API function builds both"


def test_the_users_authorizer_function_starts_without_boto3(results: Dict[str, Any]) -> None:
    z = results["cold"]["apps"]["users"]["z"]
    assert z["total_ms"] > 0 and len(z["samples_ms"]) == 2
    assert z["heavy_imported"] == []
    assert "z" not in results["cold"]["apps"]["orders"]  # orders uses API Gateway's Cognito authorizer


def test_round_trips_per_route(results: Dict[str, Any]) -> None:
    for app, targets in ROUTE_TARGETS.items():
        warm = results["warm"][app]
        assert warm["hook_total_sends"] > 0, "the before-send hook counted nothing: it is broken"
        assert warm["clients_at_import"] == 1, "one DynamoDB client per container (idempotency layer included)"
        assert set(warm["routes"]) == set(targets)
        for route, target in targets.items():
            data = warm["routes"][route]
            app_trips = (data["app"]["round_trips_min"], data["app"]["round_trips_max"])
            if (app, route) == ("orders", "create"):
                assert 1 <= app_trips[0] and app_trips[1] <= target, (app, route, app_trips)
            else:
                assert app_trips == (target, target), (app, route, app_trips)
            assert data["app"]["clients_created"] == 0, (app, route)
            assert data["app"]["p50_ms"] > 0 and data["raw"]["p50_ms"] > 0
            assert data["raw"]["round_trips_min"] >= 1


def test_authorizer_makes_no_network_call_when_warm(results: Dict[str, Any]) -> None:
    auth = results["authorizer"]
    assert auth["jwks_fetches_cold"] == 1
    assert auth["jwks_fetches_warm"] == 0
    assert auth["authorizer"]["p50_us"] > 0 and auth["bare"]["p50_us"] > 0


def test_no_runtime_package_in_built_artifacts(results: Dict[str, Any]) -> None:
    for app, art in results["artifacts"].items():
        for label in ("deployment", "layer"):
            assert art["b"][label]["runtime_provided"] == [], (app, label)
        assert set(art["b"]["deployment"]["not_our_code"]) <= {"chalice"}, art["b"]["deployment"]
        assert art["a"]["layer"]["runtime_provided"], "the detector finds aws-xray-sdk's botocore in (a)"


def test_every_non_timing_target_passes(results: Dict[str, Any]) -> None:
    failed = [c for c in results["checks"] if not c["timing"] and not c["pass"]]
    assert not failed, failed
