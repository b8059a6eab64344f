"""Serve a WSGI app of the local stack with gunicorn: the one way `deploy/local/` serves HTTP.

`serve(name, port, load, options)` runs gunicorn's arbiter in this process until SIGTERM (SIGINT: at once)
and returns its exit code. `load()` builds the WSGI callable; it runs in each worker after the fork
(never in the arbiter), so a worker started by a reload (SIGHUP) imports the code as it is on disk.

What every local server gets here: bound to 127.0.0.1 only, access log to stdout and gunicorn's own
messages (warnings and worse) to stderr, each line in one write (`whole_lines`), no control socket
(gunicorn's default is one per user in $HOME, which two servers would share), and workers that get
SIGTERM when the arbiter dies, even by SIGKILL (`die_with_parent`), so nothing outlives `make down`.
"""
import io
import os
import socket
import sys
from typing import Any, Callable, Dict, Optional

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer

from deploy.local.processes import die_with_parent

HOST = "127.0.0.1"
Hook = Callable[[Any, Any], None]


class LocalServer(BaseApplication):
    """gunicorn configured from a dict instead of a command line or a config file."""

    def __init__(self, load: Callable[[], Any], options: Dict[str, Any]) -> None:
        self._load, self.options = load, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


class LocalArbiter(Arbiter):
    """gunicorn's arbiter, halting once: it stops at the first worker that could not boot, and the
    other workers, failing the same way while it stops them, must not interrupt that stop (gunicorn
    would end on their HaltServer with a traceback and exit code 1 instead of 3)."""

    halting = False

    def halt(self, reason: Optional[str] = None, exit_status: int = 0) -> None:
        self.halting = True
        super().halt(reason, exit_status)

    def reap_workers(self) -> None:
        try:
            super().reap_workers()
        except HaltServer:
            if not self.halting:
                raise


def chain(*hooks: Optional[Hook]) -> Hook:
    """One two-argument gunicorn hook (post_fork's) that calls each of `hooks` in turn (gunicorn
    checks a hook's arity)."""
    def run(arbiter: Any, worker: Any) -> None:
        for hook in hooks:
            if hook is not None:
                hook(arbiter, worker)
    return run


def serve(name: str, port: int, load: Callable[[], Any], options: Dict[str, Any]) -> int:
    """Run gunicorn on 127.0.0.1:`port` with `options` over the local defaults until it stops;
    its exit code. A port in use is one line on stderr and exit code 2, before anything starts.
    Only the arbiter returns: a worker process ends inside (gunicorn's workers leave `run()` by
    SystemExit, which would otherwise unwind through the caller's cleanup in every worker)."""
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((HOST, port))
    except OSError as exc:
        print(f"{name}: cannot listen on {HOST}:{port} ({exc.strerror}); free the port or choose another one",
              file=sys.stderr)
        return 2
    settings: Dict[str, Any] = {
        "proc_name": name, "accesslog": "-", "errorlog": "-", "loglevel": "warning",
        **options,
        "bind": [f"{HOST}:{port}"], "control_socket_disable": True,
        "post_fork": chain(lambda server, worker: die_with_parent(), options.get("post_fork")),
    }
    whole_lines()
    sys.stdout.flush()
    arbiter = os.getpid()
    try:
        LocalArbiter(LocalServer(load, settings)).run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if os.getpid() != arbiter:  # a worker ends here too (gunicorn's sys.exit): not through our caller's code
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def whole_lines() -> None:
    """Make each line on stdout and stderr reach the file in one write(), as soon as it is complete.

    Under PYTHONUNBUFFERED (`python -u`, which the stack once set to see lines at once) `print(x)`
    is two writes, `x` then the newline; Powertools prints its EMF blobs so, and another worker's
    line could land between the two and glue two JSON documents together. Line buffering holds `x`
    until its newline and writes the line at once, and one O_APPEND write is never split by another
    process's write. (Block-buffered, the default for a file, lines would show only when a buffer
    fills or a request ends.) The workers inherit the streams from the arbiter.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # always, unless something replaced the std streams
            stream.reconfigure(line_buffering=True, write_through=False)
