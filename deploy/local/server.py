"""Serve one Chalice app over HTTP like API Gateway + Lambda: the strict local gateway on gunicorn's
sync workers, one request at a time per worker process, several workers.

    python -m deploy.local.server users_app|orders_app --port 3001 [--workers 2] [--reload]

gunicorn (deploy/local/gunicorn_app.py) binds 127.0.0.1:PORT and forks the workers; each worker loads
the app as Chalice does (stage `local`) and serves one connection at a time, like a Lambda container
(Chalice keeps `current_request` on the app object, so threads would read each other's request).
The Cognito authorizer is enforced with the shared verifier built from JWT_ISSUER, APP_CLIENT_ID and
JWKS_URL. Connections are closed after each response; a client that stalls for SOCKET_TIMEOUT frees
its worker, and a request running longer than REQUEST_TIMEOUT is answered 504 and its worker replaced.

Every answer the server gives itself is the services' JSON error shape (`GatewayWorker`): gunicorn's
refusals of malformed requests (a header over LIMIT_FIELD_SIZE, too many headers, a bad Content-Length)
and the gateway's own limits, checked before gunicorn would
send `100 Continue` (64 KiB of headers in all, a chunked body, a body over 1 MiB, which is read and
dropped up to 8 MiB first so the client sees the answer). Any method goes to the gateway, which answers
one the API does not declare as deployed (the template's MISSING_AUTHENTICATION_TOKEN response).

The users API's custom authorizer results are cached as API Gateway caches them (per token, for the
authorizer's TTL, deploy/local/authcache.py) in one SQLite file that this process creates in a private
temporary directory before gunicorn forks: every worker, and every worker a reload or a crash starts,
reads and writes the same entries; the directory is removed when the server stops.

SIGHUP (sent by deploy/local/watch.py on save) is gunicorn's reload: it starts new workers, which load
the code as it is on disk (the arbiter never imports the app), and sends the old ones SIGTERM; each old
worker finishes the request it is serving and exits. A worker that cannot load the app stops the server
(exit LOAD_FAILED: fail fast, `make up` and the tests), or with --reload answers JSON 502s until the
next save. SIGTERM stops the workers after their requests (5 s at most), SIGINT at once.
"""
import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import traceback
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from gunicorn.glogging import Logger
from gunicorn.http.errors import (
    ExpectationFailed,
    InvalidHeader,
    InvalidHTTPVersion,
    InvalidRequestMethod,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.sync import SyncWorker

from deploy.local.authcache import SharedAuthCache
from deploy.local.docs import DocsPages, is_docs_path
from deploy.local.gunicorn_app import HOST, serve
from deploy.local.stack import PORTS
from deploy.project import ROOT

MAX_HEADER_BYTES = 64 * 1024     # the request line and every header, in all
LIMIT_FIELD_SIZE = 64 * 1024     # one header line (gunicorn refuses a longer one: 431)
LIMIT_FIELDS = 100               # headers per request (gunicorn refuses more: 431)
MAX_BODY_BYTES = 1024 * 1024
DRAIN_LIMIT = 8 * 1024 * 1024    # an oversized body up to this size is read and dropped before the 413
SOCKET_TIMEOUT = 5.0             # seconds a client may stall while sending its request
REQUEST_TIMEOUT = 30             # API Gateway's integration timeout is 29 s: then 504, a new worker
STOP_TIMEOUT = 5                 # seconds workers get to finish their requests on SIGTERM or a reload
AUTH_PORT_ENV, DEFAULT_AUTH_PORT = PORTS["auth"]  # the local login page's port, named by the API docs
LOAD_FAILED = 3                  # exit code: the app could not be loaded (gunicorn's "worker failed to boot")
DROPPED_HEADERS = ("content-length", "connection", "transfer-encoding", "date", "server", "keep-alive")

REASONS = {
    400: ("BadRequest", "Bad Request"), 401: ("Unauthorized", "Unauthorized"),
    405: ("MethodNotAllowed", "Method Not Allowed"), 408: ("RequestTimeout", "Request Timeout"),
    411: ("LengthRequired", "Length Required"), 413: ("PayloadTooLarge", "Payload Too Large"),
    414: ("URITooLong", "URI Too Long"), 417: ("ExpectationFailed", "Expectation Failed"),
    431: ("RequestHeaderFieldsTooLarge", "Request Header Fields Too Large"),
    501: ("NotImplemented", "Not Implemented"), 502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeout", "Gateway Timeout"), 505: ("HTTPVersionNotSupported", "HTTP Version Not Supported"),
}
Headers = Dict[str, Any]
WSGIApp = Callable[[Dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def json_error(code: str, message: str) -> bytes:
    return json.dumps({"Code": code, "Message": message}).encode()


# -- the app behind gunicorn ----------------------------------------------------------------------
def load_gateway(app_name: str, auth_cache: Optional[SharedAuthCache] = None) -> Any:
    """Load the app like Chalice does (stage `local`) and wrap it in the strict gateway, whose
    custom authorizer results go to `auth_cache` (the workers' shared one; None: the gateway's own).
    With LOCAL_CREATE_DELAY_MS set, the orders app's creates are held that long
    (deploy/local/create_delay.py, a test aid of the local stack only)."""
    from chalice.cli.factory import CLIFactory

    from chalicelib_shared.verifier import CognitoVerifier
    from deploy.local import create_delay
    from deploy.local.strict import StrictLocalGateway

    project_dir = app_name if os.sep in app_name else str(ROOT / app_name)
    os.chdir(project_dir)
    factory = CLIFactory(project_dir, environ=os.environ)  # as `chalice local` does
    config = factory.create_config_obj(chalice_stage_name="local")
    app = config.chalice_app
    create_delay.install(sys.modules["app"])
    verifier = None
    if os.environ.get("JWT_ISSUER") and os.environ.get("APP_CLIENT_ID"):
        verifier = CognitoVerifier(os.environ["JWT_ISSUER"], os.environ["APP_CLIENT_ID"],
                                   os.environ.get("JWKS_URL") or None)
    return StrictLocalGateway(app, config, verifier, auth_cache)


def respond(start_response: Callable[..., Any], status: int, headers: Headers, body: bytes,
            head: bool = False) -> List[bytes]:
    """Start the response (hop-by-hop and server-set headers dropped); its body, none for a HEAD."""
    pairs = [(name, str(item)) for name, value in headers.items() if name.lower() not in DROPPED_HEADERS
             for item in (value if isinstance(value, list) else [value])]
    reason = REASONS.get(status, ("", ""))[1]
    start_response(f"{status} {reason}".rstrip(), [*pairs, ("Content-Length", str(len(body)))])
    return [] if head else [body]


def error(start_response: Callable[..., Any], status: int, message: str) -> List[bytes]:
    return respond(start_response, status, {"Content-Type": "application/json"},
                   json_error(REASONS[status][0], message))


def request_headers(environ: Dict[str, Any]) -> Dict[str, str]:
    """The request's headers from the WSGI environ (names as `Content-Type`; Chalice lowercases them)."""
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


def gateway_app(gateway: Any, docs: Optional[DocsPages]) -> WSGIApp:
    """The WSGI app of one worker: the body, then the API docs (/docs, before the app) or the gateway.
    The request's limits were checked before (`refusal`); the target is the raw one, query included."""
    def application(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"
        headers = request_headers(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = environ["wsgi.input"].read(length) if length else b""
        except TimeoutError:
            return error(start_response, 408, "Timed out reading the request body")
        if len(body) != length:
            return error(start_response, 400, "The request body is shorter than its Content-Length")
        if docs is not None and is_docs_path(path):  # the local stack's own pages, before the app
            return respond(start_response, *docs.respond(method, path, headers), head=method == "HEAD")
        response = gateway.handle_request(method=method, path=path, headers=headers, body=body or None)
        out = dict(response.get("headers") or {})
        out.update(response.get("multiValueHeaders") or {})
        payload = response.get("body")
        if response.get("isBase64Encoded") and payload is not None:
            payload = base64.b64decode(payload)
        payload = b"" if payload is None else payload.encode("utf-8") if isinstance(payload, str) else payload
        if not any(k.lower() == "content-type" for k in out):
            out["Content-Type"] = "application/json"
        return respond(start_response, int(response["statusCode"]), out, payload, head=method == "HEAD")
    return application


def load_failed_app(app_name: str, exc: BaseException) -> WSGIApp:
    """Stands in for an app that failed to load, under reload: every request gets what API Gateway
    answers for a crashed function (a JSON 502) until the next save replaces the worker, so a syntax
    error never takes the API down while you edit."""
    why = " ".join(f"{type(exc).__name__}: {exc}".split())  # Chalice's message spans lines
    message = f"{app_name} failed to load ({why}); fix it and save to reload"

    def application(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        return error(start_response, 502, message)
    return application


# -- gunicorn's part: the worker, its log and the server ---------------------------------------------
def refusal(req: Any) -> Optional[Tuple[int, str]]:
    """The gateway's answer to a request it will not pass on, judged on the request line and the
    headers (gunicorn's parsed request) before any body is read: (status, message), or None."""
    head = len(req.method) + len(req.uri) + 11 + sum(len(name) + len(value) + 4 for name, value in req.headers)
    if head > MAX_HEADER_BYTES:
        return 431, "Request header fields too large"
    headers = {name: value for name, value in req.headers}
    if "chunked" in headers.get("TRANSFER-ENCODING", "").lower():
        return 411, "Send a Content-Length; chunked bodies are not supported"
    if int(headers.get("CONTENT-LENGTH") or 0) > MAX_BODY_BYTES:  # gunicorn checked it is a number
        return 413, f"The request body exceeds {MAX_BODY_BYTES} bytes"
    return None


def parse_error(exc: BaseException) -> Tuple[int, str]:
    """The JSON answer to gunicorn's refusal of a malformed request (`exc`, from its parser), or to
    the end of a worker in the middle of a request (SystemExit: past REQUEST_TIMEOUT, or SIGINT)."""
    if isinstance(exc, SystemExit):  # gunicorn's abort of a worker past its timeout exits 1; a quick stop 0
        return (504, f"The function did not answer within {REQUEST_TIMEOUT} s") if exc.code else \
            (503, "The local server is stopping")
    if isinstance(exc, LimitRequestHeaders):
        return 431, "Request header fields too large"
    if isinstance(exc, LimitRequestLine):
        return 414, "The request line is too long"
    if isinstance(exc, InvalidRequestMethod):
        return 405, f"Method {exc.method} is not allowed"
    if isinstance(exc, InvalidHTTPVersion):
        version = "HTTP/%s.%s" % exc.version if isinstance(exc.version, tuple) else exc.version
        return 505, f"{version} is not supported"
    if isinstance(exc, InvalidHeader) and exc.hdr == "AUTHORIZATION":  # control characters: no token
        return 401, "Unauthorized"
    if isinstance(exc, InvalidHeader) and exc.hdr == "CONTENT-LENGTH":
        return 400, "Invalid Content-Length header"
    if isinstance(exc, ExpectationFailed):
        return 417, f"Expectation {exc.expect} is not supported"
    if isinstance(exc, UnsupportedTransferCoding):
        return 501, f"Transfer-Encoding {exc.hdr} is not supported"
    if isinstance(exc, ParseException):
        return 400, f"Malformed request ({type(exc).__name__}: {exc})"
    return 502, "Internal server error"


class GatewayWorker(SyncWorker):
    """gunicorn's sync worker (one connection at a time, closed after the response) with the
    gateway's limits and JSON answers: a socket timeout for stalled clients, `refusal` before
    gunicorn answers `Expect: 100-continue`, and `parse_error` instead of gunicorn's HTML pages."""

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        client.settimeout(SOCKET_TIMEOUT)
        super().handle(listener, client, addr)

    def handle_request(self, listener: Any, req: Any, client: Any, addr: Any) -> None:
        refused = refusal(req)
        if refused is None:
            super().handle_request(listener, req, client, addr)
            return
        status, message = refused
        expects = any(name == "EXPECT" for name, _ in req.headers)
        if status == 413 and not expects and int(dict(req.headers)["CONTENT-LENGTH"]) <= DRAIN_LIMIT:
            try:  # read what the client sends anyway, so it sees the answer rather than a reset
                while req.body.read(65536):
                    pass
            except OSError:
                pass
        self.answer(req, client, addr, status, message)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, message = parse_error(exc)
        if isinstance(exc, ParseException):
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("-",))[0], exc)
        elif not isinstance(exc, SystemExit):
            self.log.exception("Error handling request")
        self.answer(req if req is not None else getattr(exc, "req", None), client, addr, status, message)

    def answer(self, req: Any, client: Any, addr: Any, status: int, message: str) -> None:
        """Write a JSON error response and log it like any request."""
        body = json_error(REASONS[status][0], message)
        head = (f"HTTP/1.1 {status} {REASONS[status][1]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            client.sendall(head + (b"" if getattr(req, "method", "") == "HEAD" else body))
        except OSError:
            return
        if req is not None and getattr(req, "method", None):
            sys.stdout.write(f'[gateway {os.getpid()}] {(addr or ("-",))[0]} "{req.method} {req.uri} '
                             f'HTTP/{req.version[0]}.{req.version[1]}" {status}\n')


class GatewayLog(Logger):
    """gunicorn's logger with the worker's PID in the access log (`[gateway PID] ...`, one line per
    request, what the tests and `make dev` read) and a stalled client as one line, not a traceback."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Dict[str, Any]:
        return {**super().atoms(resp, req, environ, request_time), "pid": str(os.getpid())}

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if isinstance(sys.exc_info()[1], TimeoutError):
            self.warning("a client sent no complete request within %s s: closed", SOCKET_TIMEOUT)
            return
        super().exception(msg, *args, **kwargs)


class Generations:
    """What a reload says, and which worker of each generation reports a failed load: one traceback
    per broken save, not one per worker, interleaved (a worker that replaces a crashed one reports too)."""

    def __init__(self, app_name: str, workers: int) -> None:
        self.app_name, self.workers = app_name, workers
        self.first_age = 1  # gunicorn numbers its workers 1, 2, ... over the arbiter's life
        self.age = 0        # in a worker: its own number

    def on_reload(self, arbiter: Any) -> None:
        old = ", ".join(map(str, sorted(arbiter.WORKERS)))
        print(f"{self.app_name}: reloading: {self.workers} new workers load the changed code; old workers {old} "
              f"finish their requests and exit", flush=True)
        self.first_age = arbiter.worker_age + 1

    def post_fork(self, arbiter: Any, worker: Any) -> None:
        self.age = worker.age

    def reports(self) -> bool:
        return self.age == self.first_age or self.age >= self.first_age + self.workers


def worker_app(app_name: str, port: int, auth_port: int, reload: bool, auth_cache: SharedAuthCache,
               generations: Generations) -> WSGIApp:
    """Load the app in a worker. If it fails: without reload the worker exits LOAD_FAILED (gunicorn
    then stops: fail fast); under reload it answers JSON 502s until the next save."""
    try:
        gateway = load_gateway(app_name, auth_cache)
    except BaseException as exc:  # noqa: BLE001 - report why, then fail fast or stand in
        if generations.reports() or not reload:
            traceback.print_exc()
            if reload:
                print(f"{app_name}: the app failed to load (traceback above); answering 502 until the next save")
        sys.stdout.flush()
        sys.stderr.flush()
        if not reload:
            os._exit(LOAD_FAILED)
        return load_failed_app(app_name, exc)
    docs = DocsPages.for_app(app_name, port, auth_port, os.environ.get("APP_CLIENT_ID", ""))
    return gateway_app(gateway, docs)


def run(app_name: str, port: int, workers: int, reload: bool = False, auth_port: int = DEFAULT_AUTH_PORT) -> int:
    """Serve until SIGTERM/SIGINT with `workers` gateway workers; SIGHUP reloads them. Without
    `reload`, a worker that cannot load the app stops the server (exit LOAD_FAILED)."""
    cache_dir = tempfile.mkdtemp(prefix="strict-gateway-authcache-")  # 0700: only we can read it
    auth_cache = SharedAuthCache.create(cache_dir)
    generations = Generations(app_name, workers)
    options = {
        "workers": workers, "worker_class": GatewayWorker, "timeout": REQUEST_TIMEOUT,
        "graceful_timeout": STOP_TIMEOUT, "limit_request_line": 0, "limit_request_fields": LIMIT_FIELDS,
        "limit_request_field_size": LIMIT_FIELD_SIZE, "header_map": "drop", "logger_class": GatewayLog,
        "access_log_format": '[gateway %(pid)s] %(h)s "%(r)s" %(s)s',
        "on_reload": generations.on_reload, "post_fork": generations.post_fork,
        "when_ready": lambda arbiter: print(f"{app_name}: {workers} workers on http://{HOST}:{port}", flush=True),
    }
    try:
        code = serve(app_name, port, lambda: worker_app(app_name, port, auth_port, reload, auth_cache, generations),
                     options)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    if code == LOAD_FAILED:
        print(f"{app_name}: the app failed to load (see the traceback above); stopping", file=sys.stderr, flush=True)
    return code


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a Chalice app through the strict local gateway.")
    parser.add_argument("app", help="users_app or orders_app (or a path to a Chalice project)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("LOCAL_WORKERS", "2")))
    parser.add_argument("--reload", action="store_true",
                        help="autoreload: a worker that cannot load the app answers JSON 502s instead of "
                             "stopping the server (SIGHUP replaces the workers either way)")
    parser.add_argument("--auth-port", type=int, default=int(os.environ.get(AUTH_PORT_ENV, DEFAULT_AUTH_PORT)),
                        help="the local login page's port, for the API docs' Authorize (default: "
                             f"{AUTH_PORT_ENV} or {DEFAULT_AUTH_PORT})")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    sys.path.insert(0, str(ROOT))
    return run(args.app, args.port, args.workers, args.reload, args.auth_port)


if __name__ == "__main__":
    sys.exit(main())
