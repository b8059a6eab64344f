# GENERATED from chalicelib_shared/claims.py by `make sync`. Do not edit: edit the source and run `make sync`.
"""Reading Cognito claims, wherever they come from (our verifier, the local gateway, API Gateway).

Kept apart from verifier.py so that orders_app, whose tokens API Gateway verifies, can read
claims without importing pyjwt.
"""
from typing import Any, Mapping, Optional, Tuple


def groups_from_claim(value: Any) -> Tuple[str, ...]:
    """`cognito:groups` as a tuple of exact names.

    Locally it is a JSON list; behind API Gateway's Cognito authorizer it arrives as a string,
    comma-joined ("a,b") or bracketed ("[a, b]"). Names are compared exactly: no case folding,
    and a plain string is not stripped (Cognito group names cannot contain spaces, so
    "apiAdmins " is never "apiAdmins").
    """
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(g for g in value if isinstance(g, str) and g)
    if isinstance(value, str):
        if value.startswith("[") and value.endswith("]"):
            return tuple(g.strip() for g in value[1:-1].split(",") if g.strip())
        return tuple(g for g in value.split(",") if g)
    return ()


def claims_from_context(context: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The Cognito claims a Cognito user-pool authorizer put in `requestContext.authorizer`."""
    claims = (context or {}).get("claims")
    return claims if isinstance(claims, Mapping) else {}
