"""The two layers our moto launcher adds (deploy/local/moto_server.py): AWS-shaped ids and what is recorded."""
import re
from typing import Dict, Set

import pytest

from deploy.local import moto_ids
from deploy.local.moto_server import EPHEMERAL, EPHEMERAL_HEADER, LOGIN, READ, WRITE, classify

SCOPE = "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"


def json_call(target: str) -> Dict[str, str]:
    return {"x-amz-target": target, "content-type": "application/x-amz-json-1.1"}


def test_pool_and_client_ids_have_aws_shapes_and_depend_only_on_the_names() -> None:
    issued: Set[str] = set()
    pool = moto_ids.pool_id("us-east-1", "serverless-patterns-local", issued)
    client = moto_ids.client_id(pool, "serverless-patterns-local-web", issued)
    assert re.fullmatch(r"us-east-1_[0-9A-Za-z]{9}", pool)
    assert re.fullmatch(r"[0-9a-z]{26}", client)
    fresh: Set[str] = set()  # a restarted server: the same creates give the same ids
    assert moto_ids.pool_id("us-east-1", "serverless-patterns-local", fresh) == pool
    assert moto_ids.client_id(pool, "serverless-patterns-local-web", fresh) == client


def test_a_second_pool_of_the_same_name_gets_another_id() -> None:
    issued: Set[str] = set()
    first, second = (moto_ids.pool_id("eu-west-1", "same", issued) for _ in range(2))
    assert first != second and first.startswith("eu-west-1_") and second.startswith("eu-west-1_")


@pytest.mark.parametrize(("target", "kind"), [
    ("AWSCognitoIdentityProviderService.DescribeUserPoolClient", READ),
    ("AWSCognitoIdentityProviderService.AdminGetUser", READ),
    ("AWSCognitoIdentityProviderService.ListUsers", READ),
    ("AWSCognitoIdentityProviderService.GetUserAttributeVerificationCode", WRITE),
    ("AWSCognitoIdentityProviderService.InitiateAuth", LOGIN),
    ("AWSCognitoIdentityProviderService.AdminInitiateAuth", LOGIN),
    ("AWSCognitoIdentityProviderService.SignUp", WRITE),
    ("AWSCognitoIdentityProviderService.AdminSetUserPassword", WRITE),
    ("AWSCognitoIdentityProviderService.RespondToAuthChallenge", WRITE),
    ("secretsmanager.GetRandomPassword", READ),
    ("secretsmanager.CreateSecret", WRITE),
    ("DynamoDB_20120810.GetItem", WRITE),  # a service the stage does not read from moto: recorded as before
])
def test_json_protocol_requests_are_classified_by_their_target(target: str, kind: str) -> None:
    assert classify("POST", "/", json_call(target), "", b"{}") == kind


@pytest.mark.parametrize(("action", "kind"), [("DescribeStacks", READ), ("ListStacks", READ),
                                              ("CreateStack", WRITE), ("UpdateStack", WRITE)])
def test_cloudformation_requests_are_classified_by_their_form_action(action: str, kind: str) -> None:
    headers = {"authorization": SCOPE.format("cloudformation"),
               "content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert classify("POST", "/", headers, "", f"Action={action}&Version=2010-05-15".encode()) == kind


def test_jwks_and_moto_api_reads_and_ephemeral_requests_are_not_recorded() -> None:
    assert classify("GET", "/us-east-1_abc/.well-known/jwks.json", {}, "", b"") == READ
    assert classify("GET", "/moto-api/", {}, "", b"") == READ
    ephemeral = {**json_call("AWSCognitoIdentityProviderService.UpdateUserPoolClient"), EPHEMERAL_HEADER.lower(): "1"}
    assert classify("POST", "/", ephemeral, "", b"{}") == EPHEMERAL
    assert classify("POST", "/moto-api/reset", {}, "", b"") == WRITE
