"""The local stage's two CloudFormation stacks, in moto: what `describe-stacks` answers for the stage.

The workshop's commands and tests read a stage's settings from its stacks' outputs
(`aws cloudformation describe-stacks --stack-name ... --query 'Stacks[0].Outputs[...]'`). So while the
local stack runs, its moto server also holds two stacks named as the deployed ones are for the stage
`local` (`serverless-patterns-users-local`, `serverless-patterns-orders-local`: deploy/aws/deploy.py's
`stack_name`), whose Outputs are the `users` and `orders` sections of .local/outputs.json. moto runs
such a stack as literal Outputs on one `AWS::CloudFormation::WaitConditionHandle` (a resource that does
nothing), and its recorder replays the create after a restart with the same StackId (DESIGN.md §3b).

`publish` creates a stack the first time and afterwards updates it with the same template and the new
literal values (ports can change between starts). The update is sent as ephemeral (not recorded,
deploy/local/moto_server.py): the next start replays the create and updates it again anyway.
"""
import json
from typing import Any, Dict, Mapping

from botocore.exceptions import ClientError

from deploy.aws.deploy import DEFAULT_PREFIX, stack_name
from deploy.local.moto_server import ephemeral
from deploy.project import ORDERS, USERS

STAGE = "local"
STACK_NAMES = {section: stack_name(DEFAULT_PREFIX, app.name, STAGE) for section, app in
               (("users", USERS), ("orders", ORDERS))}  # outputs.json section -> stack name
DESCRIPTION = "serverless-patterns, stage local: the running local stack's outputs (deploy/local/cfn.py)"


def login_url(auth_base: str, client_id: str) -> str:
    """`CognitoLoginURL` in the deployed output's shape, on the local stack's hosted-login component."""
    return f"{auth_base}/login?client_id={client_id}&response_type=code&redirect_uri=http://localhost"


def auth_command(region: str, client_id: str) -> str:
    """`CognitoAuthCommand`, the deployed output's text with the region and client filled in. It has no
    --endpoint-url: it works verbatim once the banner's `export AWS_ENDPOINT_URL=...` lines are set."""
    return (f"aws cognito-idp initiate-auth --region {region} --auth-flow USER_PASSWORD_AUTH "
            f"--client-id {client_id} --auth-parameters USERNAME=<email>,PASSWORD=<password> "
            f"--query AuthenticationResult.IdToken --output text")


def template(outputs: Mapping[str, str]) -> str:
    return json.dumps({
        "Description": DESCRIPTION,
        "Resources": {"Outputs": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    })


def publish(cfn: Any, name: str, outputs: Mapping[str, str]) -> str:
    """Create the stack `name` with these literal outputs, or update the one that exists; returns its
    StackId. Raises RuntimeError when moto does not end it complete."""
    body = template(outputs)
    try:
        cfn.describe_stacks(StackName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationError":
            raise
        cfn.create_stack(StackName=name, TemplateBody=body)
    else:
        with ephemeral(cfn, "UpdateStack"):
            cfn.update_stack(StackName=name, TemplateBody=body)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise RuntimeError(f"stack {name} ended {stack['StackStatus']}: {stack.get('StackStatusReason', '')}")
    return stack["StackId"]


def stack_outputs(cfn: Any, name: str) -> Dict[str, str]:
    outputs = cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}
