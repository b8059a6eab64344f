"""moto's server as the local stack runs it: realistic Cognito ids, and a recording of writes only.

    python -m deploy.local.moto_server -H 127.0.0.1 -p PORT     (moto.server's own arguments)

The local stack keeps moto's state across restarts by replaying moto's recorder (deploy/local/cognito.py).
Stock moto records every request before serving it, reads included: each `describe-stacks`, each login,
each JWKS fetch of the apps grows the recording, and every restart replays them all. This launcher
installs two layers into moto before it serves, both small and tied to the pinned moto (5.2.5):

1. deploy/local/moto_ids.py: pool and client ids of AWS's shapes.
2. Recording policy (`classify`): a request is recorded only when it may change state that must survive
   a restart. Reads (Describe*/List*/Get* of Cognito, CloudFormation and Secrets Manager, GETs of
   `/.well-known/` and `/moto-api/`) and logins that only issue tokens are served unrecorded; so is a
   request sent with the header `X-Local-Stack-Ephemeral: 1` (the stack's own refresh of its stacks'
   outputs on every start, deploy/local/cfn.py, which the next start redoes anyway). A login that opens a
   challenge (NEW_PASSWORD_REQUIRED, MFA, SRP) is recorded: the `RespondToAuthChallenge` that follows names
   its session. Everything else, of every service, is recorded as before.

Replay gives users back their `sub`s (and stacks their StackId) because moto draws those from one seeded
random generator, so replaying the same writes in the same order draws the same values. An unrecorded
request must therefore not draw from it either: it runs with the generator switched to a side stream
(seeded from os.urandom, so unrecorded tokens and passwords stay unpredictable) and switched back after.
That switch is process-global, so requests are served one at a time (moto's threaded server still
accepts them concurrently; every request here takes a few milliseconds), which also makes the order in
the recording the order in which requests were served. The one request that does not take the turn is
`replay-recording`: it sends the recorded requests to this same server and waits for them.

Tokens and refresh tokens issued by unrecorded logins are not replayed: after a restart an ID or access
token still verifies (moto signs with one fixed key), but a refresh token from before it is unknown (log
in again).
"""
import contextlib
import io
import json
import os
import random
import re
import sys
import threading
import urllib.parse
from typing import Any, Callable, Iterator, List, Mapping, Optional

from deploy.local import moto_ids

READ, LOGIN, WRITE, EPHEMERAL = "read", "login", "write", "ephemeral"
EPHEMERAL_HEADER = "X-Local-Stack-Ephemeral"
REPLAY_PATH = "/moto-api/recorder/replay-recording"
# The services the local stage uses; an action of theirs that reads without changing state.
READ_SERVICES = ("AWSCognitoIdentityProviderService", "cloudformation", "secretsmanager")
READ_ACTION = re.compile(r"^(Describe|List|Get|AdminGet|AdminList|BatchGet|Validate|Estimate)[A-Z]")
NOT_READS = frozenset({"GetUserAttributeVerificationCode"})  # sends (stores) a verification code
LOGINS = frozenset({"InitiateAuth", "AdminInitiateAuth"})
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@contextlib.contextmanager
def ephemeral(client: Any, operation: str) -> Iterator[None]:
    """Within the block, `client`'s `operation` calls carry EPHEMERAL_HEADER: served, not recorded (for
    what every start of the stack redoes anyway)."""
    event = f"before-sign.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def mark(request: Any, **_: Any) -> None:
        request.headers[EPHEMERAL_HEADER] = "1"

    client.meta.events.register(event, mark)
    try:
        yield
    finally:
        client.meta.events.unregister(event, mark)


def classify(method: str, path: str, headers: Mapping[str, str], query: str, body: bytes) -> str:
    """READ, LOGIN, EPHEMERAL or WRITE for one request (`headers` with lower-case names)."""
    if headers.get(EPHEMERAL_HEADER.lower()) == "1":
        return EPHEMERAL
    if method in ("GET", "HEAD") and ("/.well-known/" in path or path.startswith("/moto-api/")):
        return READ
    service, action = _service_action(headers, query, body)
    if service in READ_SERVICES and action in LOGINS:
        return LOGIN
    if service in READ_SERVICES and READ_ACTION.match(action) and action not in NOT_READS:
        return READ
    return WRITE


def _service_action(headers: Mapping[str, str], query: str, body: bytes) -> tuple:
    """(service, action): the JSON protocols name both in X-Amz-Target (`secretsmanager.GetRandomPassword`);
    the query protocol (CloudFormation) sends `Action=` and signs with the service in its credential scope."""
    target = headers.get("x-amz-target", "")
    if "." in target:
        service, action = target.rsplit(".", 1)
        return service, action
    scope = CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    form = urllib.parse.parse_qs(query)
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    return (scope.group(1) if scope else ""), (form.get("Action") or [""])[0]


def opens_challenge(content: bytes) -> bool:
    """Whether a login's answer is a challenge (its session is named by a later, recorded request)."""
    try:
        return "ChallengeName" in json.loads(content)
    except (ValueError, TypeError):
        return False


class Turns:
    """One request at a time, and the switch between moto's seeded generator and the side stream."""

    def __init__(self, generator: random.Random, recorder: Any) -> None:
        self.lock = threading.Lock()
        self.generator, self.recorder = generator, recorder
        self.side_state = random.Random(os.urandom(32)).getstate()

    def unrecorded(self, serve: Callable[[], Any]) -> Any:
        """Serve without recording, drawing from the side stream; the seeded stream is left as it was."""
        recording = self.recorder._user_enabled  # noqa: SLF001 - moto has no public getter; set by start/stop
        main_state = self.generator.getstate()
        self.recorder._user_enabled = False  # noqa: SLF001 - paused for this one request, under the lock
        self.generator.setstate(self.side_state)
        try:
            return serve()
        finally:
            self.side_state = self.generator.getstate()
            self.generator.setstate(main_state)
            self.recorder._user_enabled = recording  # noqa: SLF001 - as it was


def buffer_body(environ: dict) -> bytes:
    """Read the request body and put it back as a fresh stream (as moto's recorder does), so that it can
    be classified first and still be read by moto, and by the recorder, on every serve of the request."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        return b""
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def serve(turns: Turns, request: Any, handle: Callable[[], Any]) -> Any:
    """Serve one request under the recording policy (module doc); `handle` runs moto's handler."""
    if request.path == REPLAY_PATH:
        return handle()
    with turns.lock:
        body = buffer_body(request.environ)
        headers = {name.lower(): value for name, value in request.headers.items()}
        kind = classify(request.method, request.path, headers, request.query_string.decode(), body)
        if kind == WRITE:
            return handle()
        response = turns.unrecorded(handle)
        if kind == LOGIN and opens_challenge(response.get_data()):
            request.environ["wsgi.input"] = io.BytesIO(body)
            return handle()  # again, recorded and on the seeded stream, as a replay will serve it
        return response


def install_recording_policy() -> None:
    """Route every request moto's Flask apps serve through `serve`."""
    from flask import request
    from moto.core import utils
    from moto.moto_api import recorder
    from moto.moto_api._internal import mock_random

    turns = Turns(mock_random, recorder)
    original = utils.convert_to_flask_response.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return serve(turns, request, lambda: original(self, *args, **kwargs))

    patched: Any = utils  # a patch of moto's class, not its declared type
    patched.convert_to_flask_response.__call__ = call


def main(argv: Optional[List[str]] = None) -> None:
    moto_ids.install()
    install_recording_policy()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
