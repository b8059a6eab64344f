"""The users API's custom TOKEN authorizer: from a token to an API Gateway policy.

A TOKEN authorizer has four outcomes, and this one uses them as follows:
- allow: a policy listing EVERY route the principal may call (API Gateway caches the policy per
  token for AUTHORIZER_TTL_SECONDS and reuses it for other routes): admins get all methods on
  /users and /users/*, anyone else GET/PUT/DELETE on /users/{their sub};
- deny: an explicit Deny policy (API Gateway answers 403) for a valid token whose `sub` cannot be
  a user id (it could never own a record);
- `Exception("Unauthorized")`: any invalid, expired, forged or malformed token, or none (401);
- fail: `AuthorizerUnavailable`, only when the JWKS cannot be fetched and nothing is cached. We
  cannot tell a good token from a bad one, and answering 401 would tell clients to drop a valid
  token. API Gateway turns the failure into its AUTHORIZER_FAILURE response (made a JSON 503 by
  the deploy template's gateway responses); the strict local gateway answers a JSON 503.
No other exception leaves `authorize`: an unexpected error is logged and answered as 401.
The context is flat strings: {"sub", "isAdmin": "true"|"false", "tokenUse"}; principalId = sub.
Denials are logged with a reason code (never the token); allows are not logged.
"""
from typing import Any, Dict, List, Union

from chalice.app import AuthResponse, AuthRoute

from chalicelib.shared.verifier import CognitoVerifier, Identity, KeysUnavailable, TokenError

from .models import is_valid_userid

AUTHORIZER_TTL_SECONDS = 300
OWNER_METHODS = ["GET", "PUT", "DELETE"]


class AuthorizerUnavailable(Exception):
    """The signing keys are unavailable (cold JWKS cache): API Gateway's AUTHORIZER_FAILURE."""


def is_admin(identity: Identity, admin_group: str) -> bool:
    return admin_group in identity.groups  # exact name, anywhere in the list


def allowed_routes(identity: Identity, admin_group: str) -> List[AuthRoute]:
    if is_admin(identity, admin_group):
        return [AuthRoute("/users", ["*"]), AuthRoute("/users/*", ["*"])]
    return [AuthRoute(f"/users/{identity.sub}", list(OWNER_METHODS))]


def _deny_all(method_arn: str, principal_id: str) -> Dict[str, Any]:
    head, _, rest = method_arn.rpartition(":")
    api_and_stage = "/".join(rest.split("/")[:2])
    return {"principalId": principal_id, "context": {},
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Effect": "Deny",
                "Resource": [f"{head}:{api_and_stage}/*"]}]}}


def authorize(verifier: CognitoVerifier, token: str, method_arn: str, admin_group: str,
              logger: Any) -> Union[AuthResponse, Dict[str, Any]]:
    """The authorizer's whole decision (see the module docstring)."""
    try:
        identity = verifier.verify(token)
    except KeysUnavailable:
        logger.error("authorizer cannot verify tokens: signing keys unavailable", extra={"reason": "jwks_unavailable"})
        raise AuthorizerUnavailable("signing keys unavailable") from None
    except TokenError as exc:
        logger.info("authorizer denied", extra={"reason": exc.reason})
        raise Exception("Unauthorized") from None  # noqa: TRY002 - the exact signal API Gateway expects
    except Exception:  # a bug must not become an AUTHORIZER_FAILURE or leak
        logger.exception("authorizer failed unexpectedly", extra={"reason": "internal_error"})
        raise Exception("Unauthorized") from None  # noqa: TRY002
    admin = is_admin(identity, admin_group)
    context = {"sub": identity.sub, "isAdmin": "true" if admin else "false", "tokenUse": identity.token_use}
    if not admin and not is_valid_userid(identity.sub):
        logger.info("authorizer denied", extra={"reason": "unusable_sub"})
        return _deny_all(method_arn, identity.sub)
    routes: List[Union[str, AuthRoute]] = list(allowed_routes(identity, admin_group))
    return AuthResponse(routes=routes, principal_id=identity.sub, context=context)
