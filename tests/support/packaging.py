"""The packaged stacks as the deploy tests read them: `Package` (one app's `make package` output for
one stage), the SAM transform as CloudFormation would run it, and cfn-lint's findings."""
import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Tuple

from deploy.project import App, app


class Package:
    def __init__(self, app: str, stage: str, directory: Path) -> None:
        self.app, self.stage, self.dir = app, stage, directory
        self.template: Dict[str, Any] = json.loads((directory / "sam.json").read_text())
        self._transformed: Dict[str, Any] = {}

    @property
    def project(self) -> App:
        """The app this package was built from (deploy.project: its directory, its merge template)."""
        return app(self.app)

    @property
    def resources(self) -> Dict[str, Any]:
        return self.template["Resources"]

    @property
    def transformed(self) -> Dict[str, Any]:
        if not self._transformed:
            self._transformed = sam_transform(self.template)
        return self._transformed

    def __repr__(self) -> str:
        return f"{self.app}/{self.stage}"


def with_s3_code_uris(template: Dict[str, Any]) -> Dict[str, Any]:
    """What `aws cloudformation package` does: local zips become s3:// URIs."""
    out = copy.deepcopy(template)
    for name, resource in out["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://artifacts-bucket/{name}/{Path(props[key]).name}"
    return out


class _NoManagedPolicies:
    """The translator only needs managed policy ARNs for SAM `Policies`; our functions name their Role."""

    def load(self) -> Dict[str, str]:
        return {}


def sam_transform(template: Dict[str, Any]) -> Dict[str, Any]:
    from samtranslator.translator.transform import transform

    return transform(with_s3_code_uris(template), {}, _NoManagedPolicies())


@lru_cache(maxsize=None)
def _lint_cached(text: str) -> Tuple[str, ...]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    return tuple(f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches)


def cfn_lint(template: Dict[str, Any]) -> Tuple[str, ...]:
    """Every cfn-lint finding (errors, warnings and informational)."""
    return _lint_cached(json.dumps(template))
