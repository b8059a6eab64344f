"""Which AWS the deploy tools talk to: never an emulator by accident, never real AWS from a test.

A user who exported the local stage's endpoints (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, ...) so
that the AWS CLI and boto3 reach `make dev` must not deploy, destroy or create admins "in AWS" that are
really the emulator; a test that drives `make deploy` against moto must never reach
AWS. So `make deploy`, `make destroy`, `make logs` and `make admin STAGE=dev|prod` call `check()`:
without `DEPLOY_TO_EMULATOR=1` (set only by the tests) every endpoint override must point away from
loopback; with it, `AWS_ENDPOINT_URL` and every per-service override must point at loopback.
"""
import os
import urllib.parse
from typing import Dict, Mapping, Optional

from deploy.project import REGION

EMULATOR_FLAG = "DEPLOY_TO_EMULATOR"


class TargetError(Exception):
    pass


def endpoint_overrides(env: Mapping[str, str]) -> Dict[str, str]:
    return {name: value for name, value in env.items()
            if value and (name == "AWS_ENDPOINT_URL" or name.startswith("AWS_ENDPOINT_URL_"))}


def is_loopback(url: str) -> bool:
    host = (urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host in ("::1", "0.0.0.0")  # noqa: S104 - recognised, never bound


def check(env: Optional[Mapping[str, str]] = None) -> None:
    """Raise TargetError (one line: what is wrong and what to do) unless the target is as intended."""
    env = os.environ if env is None else env
    overrides = endpoint_overrides(env)
    if env.get(EMULATOR_FLAG) == "1":
        remote = {k: v for k, v in overrides.items() if not is_loopback(v)}
        if "AWS_ENDPOINT_URL" not in overrides or remote:
            raise TargetError(f"{EMULATOR_FLAG}=1 is for tests against an emulator on loopback, but "
                              f"{_describe(remote) or 'AWS_ENDPOINT_URL is not set'}: refusing to reach AWS")
        return
    local = {k: v for k, v in overrides.items() if is_loopback(v)}
    if local:
        raise TargetError(f"{_describe(local)} points at a local emulator, not AWS: unset it "
                          f"(`unset {' '.join(sorted(local))}`) and retry")


def default_region(env: Optional[Mapping[str, str]] = None) -> str:
    """The region the tools use without --region: AWS_REGION, else AWS_DEFAULT_REGION, else the project's."""
    env = os.environ if env is None else env
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or REGION


def _describe(endpoints: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(endpoints.items()))
