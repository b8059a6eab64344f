"""Delete both stacks of a stage, orders first (it uses the users stack's pool), then users.

    python -m deploy.aws.destroy --stage dev [--region R] [--confirm prod]
    (make destroy STAGE=dev; make destroy STAGE=prod CONFIRM=prod)

prod is refused unless --confirm prod: its tables and user pool are retained (DeletionPolicy Retain,
deletion protection on) but its APIs, functions, alarms and dashboards are not. A stack that does not
exist is skipped. The artifact bucket and API Gateway's CloudWatch Logs role (account-wide) are kept.
"""
import argparse
import os
import sys
from typing import List, Optional

from deploy.aws.deploy import DEFAULT_PREFIX, Aws, DeployError, stack_name
from deploy.aws.target import TargetError, default_region
from deploy.aws.target import check as check_target


def stack_exists(aws: Aws, stack: str) -> bool:
    proc = aws.run("cloudformation", "describe-stacks", "--stack-name", stack, capture=True, check=False)
    if proc.returncode == 0:
        return True
    if "does not exist" in proc.stderr:
        return False
    raise DeployError(f"cannot read stack {stack}: {proc.stderr.strip()}")


def destroy(stage: str, region: str, prefix: str = DEFAULT_PREFIX, echo=print) -> List[str]:
    """Delete the stage's stacks in order and wait for each; returns the names deleted."""
    aws = Aws(region, echo)
    deleted = []
    for app in ("orders", "users"):
        stack = stack_name(prefix, app, stage)
        if not stack_exists(aws, stack):
            echo(f"{stack}: not found, nothing to delete")
            continue
        aws.run("cloudformation", "delete-stack", "--stack-name", stack)
        aws.run("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
        deleted.append(stack)
    return deleted


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--confirm", default="", help="must be `prod` to delete the prod stacks")
    parser.add_argument("--region", default=default_region())
    parser.add_argument("--prefix", default=os.environ.get("STACK_PREFIX") or DEFAULT_PREFIX)
    args = parser.parse_args(argv)
    if args.stage == "prod" and args.confirm != "prod":
        print("destroy: refusing to delete the prod stacks without CONFIRM=prod (`make destroy STAGE=prod "
              "CONFIRM=prod`; the tables and user pool are retained, everything else goes)", file=sys.stderr)
        return 2
    try:
        check_target()
        deleted = destroy(args.stage, args.region, args.prefix)
    except (DeployError, TargetError) as exc:
        print(f"destroy failed: {exc}", file=sys.stderr)
        return 1
    kept = " Retained: the tables and the user pool (delete them by hand if you mean it)." if args.stage == "prod" \
        else ""
    print(f"Deleted {', '.join(deleted) if deleted else 'nothing'}.{kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
