"""Build the CloudFormation packages of both apps: `chalice package` + merge template + build step.

    python -m deploy.aws.package [--stage dev|prod|all ...] [--app users|orders ...] [--arch arm64|x86_64]
    (make package STAGE=dev [ARCH=x86_64])

For each app and stage, into deploy/build/<app>/<stage>/:
  chalice/      `chalice package --merge-template` output, untouched (the benchmark's "as chalice makes it")
  sam.json      the final template (Chalice's default outputs dropped, checked for leftovers; routes and
                permissions through the functions' `live` alias, SnapStart in prod: rollout.py)
  deployment.zip, layer-deployment.zip   after the build step (deploy/aws/build_step.py)
  merge-template.json   deploy/aws/<app>/template.json with the stage's Metadata.StageOverrides merged in
  build.json    what was built: architecture, runtime, SnapStart

The architecture is the stage's `lambda_architecture` in .chalice/config.json (arm64) unless --arch says
otherwise. Chalice's CLI reads it only from that file, so Chalice packages a temporary copy of the
project whose config names the architecture; the committed file is never edited. Chalice takes the Lambda
runtime from the Python that runs it, so it runs from the virtualenv of LAMBDA_RUNTIME (deploy/project.py,
deploy/aws/runtimes.py), whatever Python runs this.

The merge templates under deploy/aws/<app>/template.json hold everything Chalice does not generate; they
address Chalice's generated resources by name (APIHandler, ApiHandlerRole, RestAPI, and the authorizer
named after its Python function), and `finalize` fails the build when a name no longer matches.
"""
import argparse
import contextlib
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from deploy.aws import runtimes
from deploy.aws.build_step import BuildError, build_package_dir
from deploy.aws.rollout import (
    TRAFFIC_SHIFTING,
    RolloutError,
    add_snapstart,
    route_through_aliases,
    runtime_version,
    set_traffic_shifting,
)
from deploy.project import APPS, BUILD, LAMBDA_RUNTIME, REGION, ROOT, App
from deploy.project import app as app_named

STAGES = ("dev", "prod")
ARCHITECTURES = ("arm64", "x86_64")
PLACEHOLDER = "REPLACED_BY_MERGE_TEMPLATE"
# Outputs `chalice package` always adds; the stacks publish exactly the workshop's output names instead.
CHALICE_OUTPUTS = ("RestAPIId", "APIHandlerName", "APIHandlerArn", "EndpointURL")


class PackageError(Exception):
    pass


def deep_merge(base: Any, override: Any) -> Any:
    """Chalice's merge rule: dicts merge key by key, anything else is replaced by `override`."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def merge_template(app: str, stage: str) -> Dict[str, Any]:
    """deploy/aws/<app>/template.json for `stage`: its Metadata.StageOverrides[stage] merged in, then removed."""
    template = json.loads(app_named(app).template.read_text())
    metadata = template.get("Metadata", {})
    overrides = metadata.pop("StageOverrides", {})
    if not metadata:
        template.pop("Metadata", None)
    return deep_merge(template, overrides.get(stage, {}))


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")
    else:
        yield path, node


def finalize(template: Dict[str, Any], app: str) -> Dict[str, Any]:
    """Drop Chalice's default outputs and fail on anything the merge template did not reach."""
    for name in CHALICE_OUTPUTS:
        template.get("Outputs", {}).pop(name, None)
    problems = []
    for name, resource in template.get("Resources", {}).items():
        if "Type" not in resource:
            problems.append(f"resource {name} has no Type: deploy/aws/{app}/template.json overrides a resource "
                            f"`chalice package` no longer generates (renamed function or authorizer?)")
    for path, value in _walk(template):
        if isinstance(value, str) and PLACEHOLDER in value:
            problems.append(f"{path} is still {value!r}: override it in deploy/aws/{app}/template.json")
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        body = resource.get("Properties", {}).get("DefinitionBody", {})
        for auth_name, definition in body.get("securityDefinitions", {}).items():
            authorizer = definition.get("x-amazon-apigateway-authorizer", {})
            if definition.get("x-amazon-apigateway-authtype") == "cognito_user_pools":
                for provider in authorizer.get("providerARNs", []):
                    if not (isinstance(provider, dict) and "UserPool" in json.dumps(provider)):
                        problems.append(f"{name} authorizer {auth_name}: provider ARN {provider!r} does not come "
                                        f"from the UserPool parameter")
            elif "type" not in authorizer:
                problems.append(f"{name} securityDefinitions/{auth_name} is not one Chalice generated: "
                                f"the authorizer's name in deploy/aws/{app}/template.json does not match the app")
    if problems:
        raise PackageError("\n  ".join([f"{app}: the merged template is incomplete:"] + problems))
    return template


def _chalice() -> str:
    """The runtime virtualenv's chalice: its Python decides the template's Runtime and the wheels' ABI."""
    return str(runtimes.ensure_venv().with_name("chalice"))


def stage_architecture(app: App, stage: str) -> str:
    """The stage's `lambda_architecture` in the app's .chalice/config.json (Chalice's default: x86_64)."""
    config = json.loads((app.path / ".chalice" / "config.json").read_text())
    stage_config = config.get("stages", {}).get(stage, {})
    return str(stage_config.get("lambda_architecture") or config.get("lambda_architecture") or "x86_64")


@contextlib.contextmanager
def project_for(app: App, stage: str, arch: str) -> Iterator[Path]:
    """A temporary copy of the app's Chalice project whose config builds `stage` for `arch`. Chalice's
    layer cache (.chalice/deployments, keyed by architecture) stays the project's own."""
    with tempfile.TemporaryDirectory(prefix=f"package-{app.name}-") as tmp:
        copy_dir = Path(tmp) / app.dir
        shutil.copytree(app.path, copy_dir, ignore=shutil.ignore_patterns("__pycache__", "deployments", "deployed"))
        config_file = copy_dir / ".chalice" / "config.json"
        config = json.loads(config_file.read_text())
        config.setdefault("stages", {}).setdefault(stage, {})["lambda_architecture"] = arch
        config_file.write_text(json.dumps(config, indent=2))
        cache = app.path / ".chalice" / "deployments"
        cache.mkdir(exist_ok=True)
        (copy_dir / ".chalice" / "deployments").symlink_to(cache, target_is_directory=True)
        yield copy_dir


def run_chalice(app: str, stage: str, merge_file: Path, out_dir: Path, project: Path) -> None:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", REGION))
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    cmd = [_chalice(), "--project-dir", str(project), "package", "--stage", stage,
           "--pkg-format", "cloudformation", "--template-format", "json",
           "--merge-template", str(merge_file), str(out_dir)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(f"{app}/{stage}: `{' '.join(cmd)}` failed (exit {proc.returncode}); does "
                           f"{app_named(app).dir}/app.py import without AWS access?\n{proc.stdout}{proc.stderr}")


# What a package is made from besides its app directory: a change to any of these builds it anew.
TOOLING = ("deploy/aws/package.py", "deploy/aws/build_step.py", "deploy/aws/rollout.py", "deploy/aws/runtimes.py",
           "deploy/project.py", "requirements-package.txt")
_NOT_INPUTS = ("__pycache__", "deployments", "deployed")


def inputs_digest(app: str, stage: str, arch: str, traffic: Optional[str]) -> str:
    """sha256 of everything a package is built from: the app's files (not Chalice's caches), its merge
    template, the packaging code and pins, and the stage, architecture, traffic shifting and runtime."""
    project = app_named(app)
    files = [project.template, *(ROOT / name for name in TOOLING)]
    for dirpath, dirnames, filenames in os.walk(project.path):
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_INPUTS)
        files += [Path(dirpath) / name for name in filenames if not name.endswith(".pyc")]
    digest = hashlib.sha256(f"{stage}|{arch}|{traffic}|{LAMBDA_RUNTIME}".encode())
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def reusable(out: Path, inputs: str) -> bool:
    """`out` is a complete package built from exactly `inputs` (build.json is written last)."""
    try:
        built = json.loads((out / "build.json").read_text())
    except (OSError, ValueError):
        return False
    return built.get("inputs") == inputs and all((out / name).is_file() for name in BUILT_FILES)


BUILT_FILES = ("sam.json", "deployment.zip", "layer-deployment.zip", "chalice/sam.json", "chalice/deployment.zip",
               "chalice/layer-deployment.zip")


def package(app: str, stage: str, build: Path = BUILD, arch: Optional[str] = None,
            traffic: Optional[str] = None, rebuild: bool = False) -> Tuple[Path, bool]:
    """Package one app for one stage (and architecture): (the output directory, whether the package
    already there was built from the same inputs and is kept as it is)."""
    arch = arch or stage_architecture(app_named(app), stage)
    out = build / app / stage
    inputs = inputs_digest(app, stage, arch, traffic)
    if not rebuild and reusable(out, inputs):
        return out, True
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    merge_file = out / "merge-template.json"
    merge_file.write_text(json.dumps(merge_template(app, stage), indent=2) + "\n")
    raw = out / "chalice"
    with project_for(app_named(app), stage, arch) as project:
        run_chalice(app, stage, merge_file, raw, project)
    template = finalize(json.loads((raw / "sam.json").read_text()), app)
    route_through_aliases(template)
    if traffic:
        set_traffic_shifting(template, traffic)
    snapstart = stage == "prod"
    if snapstart:
        add_snapstart(template)
    (out / "sam.json").write_text(json.dumps(template, indent=2) + "\n")
    build_package_dir(raw, out)
    major, minor = runtime_version(template)
    (out / "build.json").write_text(json.dumps({"architecture": arch, "runtime": f"python{major}.{minor}",
                                                "snapstart": snapstart, "inputs": inputs}, indent=2) + "\n")
    return out, False


def _package_app_stages(app: str, stages: List[str], build: Path, arch: Optional[str],
                        traffic: Optional[str], rebuild: bool) -> List[str]:
    lines = []
    for stage in stages:  # one app's stages in sequence: they share Chalice's layer cache
        started = time.monotonic()
        out, kept = package(app, stage, build, arch, traffic, rebuild)
        where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
        lines.append(f"{app}/{stage}: {where} " + ("(unchanged since its last build: kept)" if kept else
                                                   f"({time.monotonic() - started:.1f} s)"))
    return lines


def package_all(apps: List[str], stages: List[str], build: Path = BUILD, arch: Optional[str] = None,
                traffic: Optional[str] = None, rebuild: bool = False) -> List[str]:
    """Package every app for every stage (apps in parallel)."""
    runtimes.ensure_venv()  # once, before the threads
    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        futures = [pool.submit(_package_app_stages, app, stages, build, arch, traffic, rebuild) for app in apps]
        return [line for future in futures for line in future.result()]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", choices=STAGES + ("all",),
                        help="repeatable; `all` = every stage (default: dev)")
    parser.add_argument("--app", action="append", choices=sorted(a.name for a in APPS),
                        help="repeatable (default: both)")
    parser.add_argument("--build-dir", type=Path, default=BUILD)
    parser.add_argument("--arch", choices=ARCHITECTURES, default=None,
                        help="default: each stage's lambda_architecture in .chalice/config.json")
    parser.add_argument("--traffic-shifting", choices=TRAFFIC_SHIFTING, default=None,
                        help="how CodeDeploy moves traffic to the new versions (default: dev AllAtOnce, "
                             "prod Canary10Percent5Minutes)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build even a package whose inputs have not changed since it was built")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        stages = list(STAGES) if "all" in (args.stage or []) else (args.stage or ["dev"])
        for line in package_all(args.app or [a.name for a in APPS], stages, args.build_dir.resolve(), args.arch,
                                args.traffic_shifting, args.rebuild):
            print(line)
    except runtimes.RuntimeNotFound as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 1
    except (PackageError, BuildError, RolloutError) as exc:
        print(f"package failed: {exc}", file=sys.stderr)
        return 1
    print(f"packaged in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
