"""Print an ID token for a user of the running local stack (reads .local/outputs.json).

    .venv/bin/python -m deploy.local.token EMAIL PASSWORD [--access]
"""
import argparse
import sys

from botocore.exceptions import BotoCoreError, ClientError

from deploy.local.cognito import idp_client, login, outputs_file, read_outputs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--access", action="store_true", help="print the access token instead")
    args = parser.parse_args(argv)
    try:
        outputs = read_outputs()
    except FileNotFoundError:
        print(f"{outputs_file()} not found: start the local stack first (make dev or make up)", file=sys.stderr)
        return 1
    try:
        tokens = login(idp_client(outputs["CognitoEndpointUrl"]), outputs["users"]["UserPoolClient"],
                       args.email, args.password)
    except ClientError as exc:
        print(f"login failed: {exc.response['Error'].get('Message') or exc}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"cannot reach the local Cognito ({exc}): is the stack running?", file=sys.stderr)
        return 1
    print(tokens["AccessToken"] if args.access else tokens["IdToken"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
