"""A Chalice app whose TOKEN authorizer returns a deliberately narrow policy: only the route it was
invoked for. Behind a gateway that invokes the authorizer on every request, every route of it
answers 200; behind API Gateway (and the strict gateway's cache) a token's first route decides:
the other route answers 403 until the TTL runs out.

`SOURCE` is the app (served by the local server, tests/support/serving.py); `load()` runs the same
source in-process for the StrictTestClient. Tokens choose the outcome: "unauthorized" -> 401,
"broken" -> an authorizer failure (503), "deny" -> `routes=[]`, "explicit-deny" -> a policy with
an explicit Deny statement, anything else -> Allow on the route asked for, principalId = the token.
Every invocation is appended to INVOCATIONS and printed as `narrow-authorizer invoked pid=.. token=..`;
the context tells the view which invocation made the policy, so a test sees what the cache passed on.
NARROW_TTL_SECONDS sets the authorizer's TTL ("default": none given, API Gateway's 300).
"""
from typing import Any, Dict

SOURCE = '''
import os
from chalice import AuthResponse, Chalice

app = Chalice(app_name="narrow")
INVOCATIONS = []
TTL = os.environ.get("NARROW_TTL_SECONDS", "300")


@app.authorizer(**({} if TTL == "default" else {"ttl_seconds": int(TTL)}))
def narrow(auth_request):
    token, arn = auth_request.token, auth_request.method_arn
    INVOCATIONS.append((token, arn))
    print(f"narrow-authorizer invoked pid={os.getpid()} token={token}", flush=True)
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "broken":
        raise RuntimeError("the authorizer crashed")
    if token == "deny":
        return AuthResponse(routes=[], principal_id=token)
    if token == "explicit-deny":
        return {"principalId": token, "context": {}, "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [arn.rsplit("/", 2)[0] + "/*"]}]}}
    route = "/" + arn.split("/", 3)[3]  # arn:...:api-id/stage/METHOD/route -> /route
    return AuthResponse(routes=[route], principal_id=token,
                        context={"route": route, "invocation": str(len(INVOCATIONS)), "pid": str(os.getpid())})


def answer(route):
    return {"route": route, "pid": os.getpid(), "authorizer": app.current_request.context["authorizer"]}


@app.route("/a", authorizer=narrow)
def route_a():
    return answer("/a")


@app.route("/b", authorizer=narrow)
def route_b():
    return answer("/b")
'''


def load() -> Dict[str, Any]:
    """The app's module namespace (`app`, `INVOCATIONS`), run in-process from SOURCE."""
    namespace: Dict[str, Any] = {"__name__": "narrow_app"}
    exec(compile(SOURCE, "narrow_app.py", "exec"), namespace)  # noqa: S102 - our own test app
    return namespace
