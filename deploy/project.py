"""What the deploy tools and the tests know about this project, written down once.

ROOT (the checkout), the two apps (short name, Chalice project directory, merge template), where
`make package` builds, the Lambda runtime, the default region, where the local stack keeps its state, and `stage_env()`:
a stage's environment variables from an app's .chalice/config.json. Everything under deploy/ and
tests/ imports these instead of working them out again.

Standard library only: the bench's Lambda-like children and the local API servers import it too.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple, Union

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "deploy" / "build"    # make package's output, deploy/build/<app>/<stage>/ (git-ignored)
LOCAL_STATE = ROOT / ".local"        # the local stack's state dir unless LOCAL_STATE_DIR names another
REGION = "us-east-1"                 # the local stack's region; the AWS tools' without AWS_REGION
# The Lambda runtime of every function, whatever Python runs make: `make package` packages with an interpreter
# of this version (deploy/aws/runtimes.py). python3.13: supported by Lambda to 2029-06-30, SnapStart (3.12+).
LAMBDA_RUNTIME = "python3.13"


@dataclass(frozen=True)
class App:
    """One of the two Chalice apps, deployed as one stack each."""

    name: str  # "users": the package, build dir and stack names (serverless-patterns-users-dev)
    dir: str   # "users_app": the Chalice project directory

    @property
    def path(self) -> Path:
        return ROOT / self.dir

    @property
    def template(self) -> Path:
        """The CloudFormation merge template (deploy/README.md, "What `make package STAGE=dev|prod` does")."""
        return ROOT / "deploy" / "aws" / self.name / "template.json"


USERS = App("users", "users_app")
ORDERS = App("orders", "orders_app")
APPS: Tuple[App, ...] = (USERS, ORDERS)  # in deploy order: users owns the pool that orders uses
APP_DIRS: Tuple[str, ...] = tuple(app.dir for app in APPS)


def app(key: Union[App, str]) -> App:
    """The app called `key`: its short name ("users") or its directory ("users_app")."""
    if isinstance(key, App):
        return key
    for candidate in APPS:
        if key in (candidate.name, candidate.dir):
            return candidate
    raise KeyError(f"no app {key!r}: expected one of {', '.join(a.name for a in APPS)}")


def stage_env(app_key: Union[App, str], stage: str = "local") -> Dict[str, str]:
    """Environment variables of an app's stage in .chalice/config.json (top level overlaid by the stage)."""
    config = json.loads((app(app_key).path / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env
