"""Build the CloudFormation packages of both apps: `chalice package` + merge template + build step.

    python -m deploy.aws.package [--stage dev|prod|all ...] [--app users|orders ...]   (make package STAGE=dev)

For each app and stage, into deploy/build/<app>/<stage>/:
  chalice/      `chalice package --merge-template` output, untouched (the benchmark's "as chalice makes it")
  sam.json      the final template (Chalice's default outputs dropped, checked for leftovers)
  deployment.zip, layer-deployment.zip   after the build step (deploy/aws/build_step.py)
  merge-template.json   deploy/aws/<app>/template.json with the stage's Metadata.StageOverrides merged in

The merge templates under deploy/aws/<app>/template.json hold everything Chalice does not generate; they
address Chalice's generated resources by name (APIHandler, ApiHandlerRole, RestAPI, and the authorizer
named after its Python function), and `finalize` fails the build when a name no longer matches.
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional

from deploy.aws.build_step import BuildError, build_package_dir
from deploy.project import APPS, BUILD, REGION, ROOT
from deploy.project import app as app_named

STAGES = ("dev", "prod")
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
    candidate = Path(sys.executable).with_name("chalice")
    return str(candidate) if candidate.exists() else "chalice"


def run_chalice(app: str, stage: str, merge_file: Path, out_dir: Path) -> None:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", REGION))
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    cmd = [_chalice(), "--project-dir", str(app_named(app).path), "package", "--stage", stage,
           "--pkg-format", "cloudformation", "--template-format", "json",
           "--merge-template", str(merge_file), str(out_dir)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(f"{app}/{stage}: `{' '.join(cmd)}` failed (exit {proc.returncode}); does "
                           f"{app_named(app).dir}/app.py import without AWS access?\n{proc.stdout}{proc.stderr}")


def package(app: str, stage: str, build: Path = BUILD) -> Path:
    """Package one app for one stage; returns the output directory."""
    out = build / app / stage
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    merge_file = out / "merge-template.json"
    merge_file.write_text(json.dumps(merge_template(app, stage), indent=2) + "\n")
    raw = out / "chalice"
    run_chalice(app, stage, merge_file, raw)
    template = finalize(json.loads((raw / "sam.json").read_text()), app)
    (out / "sam.json").write_text(json.dumps(template, indent=2) + "\n")
    build_package_dir(raw, out)
    return out


def _package_app_stages(app: str, stages: List[str], build: Path) -> List[str]:
    lines = []
    for stage in stages:  # one app's stages in sequence: they share Chalice's layer cache
        started = time.monotonic()
        out = package(app, stage, build)
        lines.append(f"{app}/{stage}: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
                     f"({time.monotonic() - started:.1f} s)")
    return lines


def package_all(apps: List[str], stages: List[str], build: Path = BUILD) -> List[str]:
    """Package every app for every stage (apps in parallel)."""
    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        futures = [pool.submit(_package_app_stages, app, stages, build) for app in apps]
        return [line for future in futures for line in future.result()]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", choices=STAGES + ("all",),
                        help="repeatable; `all` = every stage (default: dev)")
    parser.add_argument("--app", action="append", choices=sorted(a.name for a in APPS),
                        help="repeatable (default: both)")
    parser.add_argument("--build-dir", type=Path, default=BUILD)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        stages = list(STAGES) if "all" in (args.stage or []) else (args.stage or ["dev"])
        for line in package_all(args.app or [a.name for a in APPS], stages, args.build_dir.resolve()):
            print(line)
    except (PackageError, BuildError) as exc:
        print(f"package failed: {exc}", file=sys.stderr)
        return 1
    print(f"packaged in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
