"""Serve one Chalice app over HTTP like API Gateway + Lambda: the strict local gateway, one request
at a time per worker process, several workers.

    python -m deploy.local.server users_app|orders_app --port 3001 [--workers 2] [--host 127.0.0.1] [--reload]

The parent binds the listening socket and forks the workers; each worker loads the app as Chalice
does (stage `local`) and accepts and handles one connection at a time, like a Lambda container
(Chalice keeps `current_request` on the app object, so threads would read each other's request).
The Cognito authorizer is enforced with the shared verifier built from JWT_ISSUER, APP_CLIENT_ID
and JWKS_URL. Every error this server produces itself is the services' JSON error shape; slow or
idle clients time out and connections are closed after each response, so no client can pin a worker.
Workers write the app's logs and EMF metrics to the inherited stdout, one write per line (see
`whole_lines`), so the workers' lines never interleave. SIGTERM/SIGINT stop everything.

The users API's custom authorizer results are cached as API Gateway caches them (per token, for the
authorizer's TTL, deploy/local/authcache.py) in one SQLite file that the parent creates in a private
temporary directory before it forks: every worker, and every worker a reload or a crash starts, reads
and writes the same entries; the directory is removed when the server stops.

SIGHUP replaces the workers (autoreload, sent by deploy/local/watch.py): the parent never imports
the app, so a freshly forked worker loads the code as it is on disk; the old workers finish the
request they are serving and exit. A worker that cannot load the app stops the server (fail fast,
`make up` and the tests), or with --reload answers JSON 502s until the next save.
"""
import argparse
import base64
import contextlib
import io
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from deploy.local.authcache import SharedAuthCache
from deploy.local.docs import DocsPages, is_docs_path
from deploy.local.processes import die_with_parent
from deploy.local.stack import PORTS
from deploy.project import ROOT

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
DRAIN_LIMIT = 8 * 1024 * 1024   # an oversized body up to this size is read and dropped before the 413
SOCKET_TIMEOUT = 5.0
PARENT_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # handled by the parent (stop, reload)
AUTH_PORT_ENV, DEFAULT_AUTH_PORT = PORTS["auth"]  # the local login page's port, named by the API docs
LOAD_FAILED = 3                 # worker exit code: the app could not be loaded (no point respawning)
ACCEPT_WAIT = 0.2               # how often an idle worker looks at its stop flag
REAP_WAIT = 0.1                 # how often the parent looks for exited workers and a reload request

REASONS = {
    400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 408: "RequestTimeout",
    411: "LengthRequired", 413: "PayloadTooLarge", 414: "URITooLong", 417: "ExpectationFailed",
    431: "RequestHeaderFieldsTooLarge", 500: "InternalServerError", 501: "NotImplemented",
    502: "BadGateway", 505: "HTTPVersionNotSupported",
}


def json_error(code: str, message: str) -> bytes:
    return json.dumps({"Code": code, "Message": message}).encode()


class GatewayHandler(BaseHTTPRequestHandler):
    """HTTP <-> StrictLocalGateway. One connection, one request, then close."""

    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    gateway: Any = None  # set per worker
    docs: Optional[DocsPages] = None  # the app's API docs (/docs), set per worker
    raw_requestline: bytes  # set by BaseHTTPRequestHandler (typeshed does not say so)
    server_version = "strict-local-gateway"
    sys_version = ""

    # -- errors produced here ------------------------------------------------------------------
    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        if code == 431:
            message = "Request header fields too large"
        self._write(code, {"Content-Type": "application/json"},
                    json_error(REASONS.get(code, "Error"), message or self.responses.get(code, ("Error",))[0]))

    def _write(self, status: int, headers: Dict[str, Any], body: bytes) -> None:
        self.close_connection = True
        try:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    continue
                for item in value if isinstance(value, list) else [value]:
                    self.send_header(name, str(item))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stdout.write("[gateway %s] %s %s\n" % (os.getpid(), self.address_string(), format % args))
        sys.stdout.flush()

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        self.log_message('"%s" %s', self.requestline, str(code))

    # -- request handling -----------------------------------------------------------------------
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        size = len(self.raw_requestline) + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if size > MAX_HEADER_BYTES:
            self.send_error(431)
            return False
        return True

    def handle_expect_100(self) -> bool:
        length = (self.headers.get("Content-Length") or "").strip()
        if length.isdigit() and int(length) > MAX_BODY_BYTES:  # refuse before the client sends it
            self.command = self.command or "POST"
            self.send_error(413, f"The request body exceeds {MAX_BODY_BYTES} bytes")
            return False
        return super().handle_expect_100()

    def version_string(self) -> str:
        return self.server_version

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):  # any other method (TRACE, BREW, ...): the gateway answers as deployed
            return self._dispatch   # (the template's MISSING_AUTHENTICATION_TOKEN; /docs: its own 405)
        raise AttributeError(name)

    def _read_body(self) -> Optional[bytes]:
        """The body, or None after an error response was sent."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.send_error(411, "Send a Content-Length; chunked bodies are not supported")
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return b""
        if len(set(v.strip() for v in values)) != 1 or not values[0].strip().isdigit():
            self.send_error(400, "Invalid Content-Length header")
            return None
        length = int(values[0].strip())
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_LIMIT:
                self._drain(length)
            self.send_error(413, f"The request body exceeds {MAX_BODY_BYTES} bytes")
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.send_error(400, "The request body is shorter than its Content-Length")
            return None
        return body

    def _drain(self, length: int) -> None:
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    return
                length -= len(chunk)
        except OSError:
            pass

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (TimeoutError, socket.timeout):
            self.send_error(408, "Timed out reading the request body")
            return
        if body is None:
            return
        if self.docs is not None and is_docs_path(self.path):  # the local stack's own pages, before the app
            status, docs_headers, payload = self.docs.respond(self.command, self.path, dict(self.headers))
            self._write(status, docs_headers, payload)
            return
        response = self.gateway.handle_request(method=self.command, path=self.path,
                                               headers=dict(self.headers), body=body or None)
        headers = dict(response.get("headers") or {})
        headers.update(response.get("multiValueHeaders") or {})
        payload = response.get("body")
        if response.get("isBase64Encoded") and payload is not None:
            payload = base64.b64decode(payload)
        if payload is None:
            payload = b""
        elif isinstance(payload, str):
            payload = payload.encode("utf-8")
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        self._write(int(response["statusCode"]), headers, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815 - http.server names


class _ServerShim:
    """What BaseHTTPRequestHandler expects of its server."""

    def __init__(self, address: Any) -> None:
        self.server_address = address
        self.server_name = "127.0.0.1"
        self.server_port = address[1]


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


class LoadFailed:
    """Stands in for the gateway of an app that failed to load, under reload: every request gets
    what API Gateway answers for a crashed function (a JSON 502) until the next save replaces the
    worker, so a syntax error never takes the API down while you edit."""

    def __init__(self, app_name: str, exc: BaseException) -> None:
        why = " ".join(f"{type(exc).__name__}: {exc}".split())  # Chalice's message spans lines
        self.message = f"{app_name} failed to load ({why}); fix it and save to reload"

    def handle_request(self, method: str, path: str, headers: Dict[str, Any],
                       body: Optional[bytes]) -> Dict[str, Any]:
        return {"statusCode": 502, "headers": {"Content-Type": "application/json"},
                "body": json_error("BadGateway", self.message).decode()}


def _load(app_name: str, reload: bool, report: bool, auth_cache: Optional[SharedAuthCache]) -> Any:
    """The app's gateway. If it fails to load: without reload the worker exits LOAD_FAILED (the
    server stops: fail fast); under reload it serves JSON 502s (LoadFailed) until the next save.
    `report`: print the traceback (under reload only one worker of each generation does, so a
    broken save shows one traceback, not one per worker, interleaved)."""
    try:
        return load_gateway(app_name, auth_cache)
    except BaseException as exc:  # noqa: BLE001 - report why, then fail fast or stand in
        if report or not reload:
            traceback.print_exc()
            if reload:
                print(f"{app_name}: the app failed to load (traceback above); answering 502 until the next save")
        sys.stdout.flush()
        sys.stderr.flush()
        if not reload:
            os._exit(LOAD_FAILED)
        return LoadFailed(app_name, exc)


def _accept(sock: socket.socket, state: Dict[str, bool]) -> Optional[Tuple[socket.socket, Any]]:
    """The next connection, or None if none came within ACCEPT_WAIT or the worker was told to stop.
    The listening socket is non-blocking and shared by every worker: a worker waits in select()
    and re-checks its stop flag, because a worker parked in accept() would, after a reload retired
    it, take one more request and serve it with the old code. Another worker may win the race for
    a connection (BlockingIOError)."""
    try:
        ready, _, _ = select.select([sock], [], [], ACCEPT_WAIT)
        if not ready or state["stop"]:
            return None
        return sock.accept()
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        time.sleep(0.05)
        return None


def _handle(handler_cls: Any, shim: _ServerShim, conn: socket.socket, address: Any) -> None:
    try:
        conn.settimeout(SOCKET_TIMEOUT)
        handler_cls(conn, address, shim)
    except Exception:  # noqa: BLE001 - a broken connection must not kill the worker
        traceback.print_exc()
    finally:
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()
        sys.stdout.flush()


def worker(app_name: str, sock: socket.socket, reload: bool = False, report: bool = True,
           auth_cache: Optional[SharedAuthCache] = None, auth_port: int = DEFAULT_AUTH_PORT) -> None:
    """Never returns: load the app, then accept and handle one request at a time. SIGTERM (stop, or
    a reload retiring this worker) lets the request in progress finish, then the worker exits."""
    state = {"stop": False}

    def on_signal(signum: int, frame: Any) -> None:
        state["stop"] = True  # a flag only: an idle worker sees it within ACCEPT_WAIT

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reload is the parent's business
    signal.pthread_sigmask(signal.SIG_UNBLOCK, PARENT_SIGNALS)
    die_with_parent()  # Linux: a worker gets SIGTERM when the parent dies, even by SIGKILL
    if os.getppid() == 1:
        os._exit(0)
    gateway = _load(app_name, reload, report, auth_cache)
    shim = _ServerShim(sock.getsockname())
    docs = None if isinstance(gateway, LoadFailed) else \
        DocsPages.for_app(app_name, shim.server_port, auth_port, os.environ.get("APP_CLIENT_ID", ""))
    handler_cls = type("Handler", (GatewayHandler,), {"gateway": gateway, "docs": docs})
    while not state["stop"]:
        accepted = _accept(sock, state)
        if accepted is not None:
            _handle(handler_cls, shim, *accepted)
    os._exit(0)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound by the parent and shared by every worker. Non-blocking (see
    `_accept`); the connections accepted from it are blocking with a timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold stop and reload signals: a forked child must never run the parent's handlers, and a
    stop must not land between starting a worker and recording its PID."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, PARENT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Workers:
    """The server's worker processes: started, respawned when one dies, replaced on reload."""

    def __init__(self, app_name: str, sock: socket.socket, count: int, reload: bool,
                 auth_cache: Optional[SharedAuthCache] = None, auth_port: int = DEFAULT_AUTH_PORT) -> None:
        self.app_name, self.sock, self.count, self.reload = app_name, sock, count, reload
        self.auth_port = auth_port
        self.auth_cache = auth_cache  # shared by every worker, of every generation
        self.current: Set[int] = set()   # serving the latest code
        self.retiring: Set[int] = set()  # told to stop after their request in progress

    def spawn(self, report: bool = True) -> None:
        with signals_blocked():
            pid = os.fork()
            if pid == 0:
                worker(self.app_name, self.sock, self.reload, report, self.auth_cache, self.auth_port)
            self.current.add(pid)

    def start(self) -> None:
        for i in range(self.count):
            self.spawn(report=i == 0 or not self.reload)

    def replace(self) -> None:
        """Reload: retire every current worker (each finishes the request it is serving, then
        exits) and start a new generation, which loads the code as it is now. The old ones go
        first, so no new request reaches the old code; requests wait in the listen backlog
        while the new workers load."""
        with signals_blocked():
            old = sorted(self.current)
            print(f"{self.app_name}: reloading: {self.count} new workers load the changed code; old workers "
                  f"{', '.join(map(str, old))} finish their requests and exit", flush=True)
            for pid in old:
                self.retiring.add(pid)
                self.current.discard(pid)
                _signal(pid, signal.SIGTERM)
            self.start()

    def reap(self, pid: int, code: int) -> int:
        """Account for an exited worker: 0 to go on, LOAD_FAILED to stop the server."""
        if pid in self.retiring:
            self.retiring.discard(pid)
            return 0
        if pid not in self.current:
            return 0
        self.current.discard(pid)
        if code == LOAD_FAILED:
            print(f"{self.app_name}: the app failed to load (see the traceback above); stopping",
                  file=sys.stderr, flush=True)
            return LOAD_FAILED
        print(f"{self.app_name}: worker {pid} exited ({code}); starting another", flush=True)
        self.spawn()
        return 0

    def stop(self) -> None:
        """SIGTERM every worker, wait up to 5 s for them, then SIGKILL what is left."""
        children = self.current | self.retiring
        for pid in list(children):
            if not _signal(pid, signal.SIGTERM):
                children.discard(pid)
        deadline = time.monotonic() + 5
        while children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                children.discard(pid)
            else:
                time.sleep(0.05)
        for pid in children:
            if _signal(pid, signal.SIGKILL):
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass


def _signal(pid: int, signum: int) -> bool:
    try:
        os.kill(pid, signum)
        return True
    except ProcessLookupError:
        return False


def supervise(pool: Workers, flags: Dict[str, bool]) -> int:
    """The parent's loop: act on a reload request, reap exited workers; returns LOAD_FAILED if the
    app cannot load (without reload). Polls rather than blocking in waitpid, so the SIGHUP handler
    only sets a flag and a reload never runs inside a signal handler."""
    while True:
        if flags["reload"]:
            flags["reload"] = False
            pool.replace()
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid:
            time.sleep(REAP_WAIT)
        elif pool.reap(pid, os.waitstatus_to_exitcode(status)):
            return LOAD_FAILED


def serve(app_name: str, host: str, port: int, workers: int, reload: bool = False,
          auth_port: int = DEFAULT_AUTH_PORT) -> int:
    """Run `workers` workers until SIGTERM/SIGINT. SIGHUP replaces them (autoreload). Without
    `reload`, a worker that cannot load the app stops the server (exit LOAD_FAILED)."""
    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"{app_name}: cannot listen on {host}:{port} ({exc.strerror}); "
              f"free the port or choose another one", file=sys.stderr)
        return 2
    cache_dir = tempfile.mkdtemp(prefix="strict-gateway-authcache-")  # 0700: only we can read it
    pool = Workers(app_name, sock, workers, reload, SharedAuthCache.create(cache_dir), auth_port)
    flags = {"stopping": False, "reload": False}

    class Stop(Exception):
        pass

    def stop(signum: int, frame: Any) -> None:
        if not flags["stopping"]:
            flags["stopping"] = True
            raise Stop()  # leaves `supervise` wherever it is

    def on_hup(signum: int, frame: Any) -> None:
        flags["reload"] = True  # acted on by `supervise`, never inside a handler

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, on_hup)
    sys.stdout.flush()
    code = 0
    try:
        pool.start()
        print(f"{app_name}: {workers} workers on http://{host}:{port}", flush=True)
        code = supervise(pool, flags)
    except (Stop, ChildProcessError):
        pass
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    sock.close()
    pool.stop()
    shutil.rmtree(cache_dir, ignore_errors=True)
    return code


def whole_lines() -> None:
    """Make each line on stdout and stderr reach the file in one write(), as soon as it is complete.

    Under PYTHONUNBUFFERED (`python -u`, which the stack once set to see lines at once) `print(x)`
    is two writes, `x` then the newline; Powertools prints its EMF blobs so, and another worker's
    line could land between the two and glue two JSON documents together. Line buffering holds `x`
    until its newline and writes the line at once, and one O_APPEND write is never split by another
    process's write. (Block-buffered, the default for a file, lines would show only when a buffer
    fills or a request ends.)
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # always, unless something replaced the std streams
            stream.reconfigure(line_buffering=True, write_through=False)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a Chalice app through the strict local gateway.")
    parser.add_argument("app", help="users_app or orders_app (or a path to a Chalice project)")
    parser.add_argument("--host", default="127.0.0.1")
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
    whole_lines()
    return serve(args.app, args.host, args.port, args.workers, args.reload, args.auth_port)


if __name__ == "__main__":
    sys.exit(main())
