"""Follow one deployed function's CloudWatch logs (what `chalice logs -f` does for a Chalice deployment).

    python -m deploy.aws.logs --stage dev --app users|orders [--function api|authorizer] [--since 10m] [--no-follow]
    (make logs STAGE=dev APP=users [FUNCTION=authorizer] [SINCE=1h] [FOLLOW=false])

The log group comes from the stack (its `ApiHandlerLogGroup` / `UsersAuthorizerLogGroup` resource), so
renamed stacks and prefixes need nothing else. Polls `FilterLogEvents` every 2 s; Ctrl-C stops.
"""
import argparse
import os
import re
import sys
import time
from typing import Any, Iterator, List, Optional, Set

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deploy.aws.deploy import DEFAULT_PREFIX, stack_name
from deploy.aws.target import TargetError, default_region
from deploy.aws.target import check as check_target

LOG_GROUPS = {("users", "api"): "ApiHandlerLogGroup", ("users", "authorizer"): "UsersAuthorizerLogGroup",
              ("orders", "api"): "ApiHandlerLogGroup"}
POLL_SECONDS = 2.0


class LogsError(Exception):
    pass


def since_ms(text: str, now: Optional[float] = None) -> int:
    """'10m', '2h', '1d', '30s' -> epoch milliseconds that long ago."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise LogsError(f"--since {text!r}: give a number and s, m, h or d (e.g. 10m)")
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return int(((time.time() if now is None else now) - seconds) * 1000)


def log_group(cfn: Any, stack: str, app: str, function: str) -> str:
    logical_id = LOG_GROUPS.get((app, function))
    if logical_id is None:
        raise LogsError(f"the {app} stack has no {function} function (functions: "
                        f"{', '.join(f for a, f in LOG_GROUPS if a == app)})")
    try:
        resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    except ClientError as exc:
        raise LogsError(f"cannot read {logical_id} of stack {stack}: {exc.response['Error'].get('Message')} "
                        f"(deployed with `make deploy`?)") from None
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def events(logs: Any, group: str, start: int, seen: Set[str]) -> Iterator[dict]:
    """New events of `group` since `start` (milliseconds), each once."""
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start):
        for event in page.get("events", []):
            if event["eventId"] not in seen:
                seen.add(event["eventId"])
                yield event


def follow(logs: Any, group: str, start: int, keep_following: bool, out: Any = sys.stdout) -> None:
    seen: Set[str] = set()
    while True:
        for event in events(logs, group, start, seen):
            start = max(start, event["timestamp"])
            out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(event['timestamp'] / 1000))} "
                      f"{event['message'].rstrip()}\n")
        out.flush()
        if not keep_following:
            return
        time.sleep(POLL_SECONDS)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--app", required=True, choices=("users", "orders"))
    parser.add_argument("--function", default="api", choices=("api", "authorizer"))
    parser.add_argument("--since", default="10m")
    parser.add_argument("--no-follow", action="store_true", help="print what is there and stop")
    parser.add_argument("--region", default=default_region())
    parser.add_argument("--prefix", default=os.environ.get("STACK_PREFIX") or DEFAULT_PREFIX)
    args = parser.parse_args(argv)
    stack = stack_name(args.prefix, args.app, args.stage)
    try:
        check_target()
        group = log_group(boto3.client("cloudformation", region_name=args.region), stack, args.app, args.function)
        print(f"{stack} {args.function}: {group}" + ("" if args.no_follow else " (Ctrl-C stops)"), flush=True)
        follow(boto3.client("logs", region_name=args.region), group, since_ms(args.since), not args.no_follow)
    except (LogsError, TargetError) as exc:
        print(f"logs: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"logs: CloudWatch Logs refused: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
