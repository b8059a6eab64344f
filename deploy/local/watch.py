"""Autoreload for the local stack: watch the apps' sources, re-vendor shared code, reload the API servers.

    python -m deploy.local.watch [--skip STATE_DIR] users_app=PID orders_app=PID

The files are watched with watchfiles (file events through Rust's `notify`; with WATCHFILES_FORCE_POLLING=1
it polls instead, for mounted or network volumes where events go missing). Saves come in bursts (an
editor writes a temp file and renames it; `make sync` or a branch switch touches many files), and
watchfiles reports a burst once it has been quiet for QUIET_MS, so each affected API is reloaded exactly
once. What is not source never counts: bytecode, editor swap, backup and lock files, __pycache__ (its
DefaultFilter) and the state dir. A change under chalicelib_shared/ is vendored into both apps first
(deploy/codegen/sync_shared.py); the copies that writes are remembered by content, so the reloader's own
writes never count as a second burst (a later edit of a copy still does).

A reload is SIGHUP to the API's gunicorn (deploy/local/server.py), which starts new workers on the saved
code and lets the old ones finish their requests. The stack starts this as one of its processes (`make
dev`, and `make up` with LOCAL_AUTORELOAD=1), so both reload the same way and `make down` stops it like
any other component; it also ends by itself once every server it watches is gone.
"""
import hashlib
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from watchfiles import Change, DefaultFilter, watch

from deploy.local.processes import alive
from deploy.project import APP_DIRS, ROOT

SHARED = "chalicelib_shared"
QUIET_MS = 200                 # a burst is over once nothing changed for this long
LONGEST_BURST_MS = 10_000      # a longer burst (a big checkout) is reported in parts
CHECK_SERVERS_MS = 200         # how often the watcher looks whether its servers still run (and at signals)
SERVER_MARKER = "deploy.local.server"

Changes = Set[Tuple[Change, str]]


def source_filter(skip: Iterable[Path] = ()) -> DefaultFilter:
    """watchfiles' DefaultFilter (bytecode, __pycache__, editor swap/backup/lock files, VCS dirs) that
    also ignores the `skip` trees (the state dir)."""
    return DefaultFilter(ignore_paths=[str(Path(p).resolve()) for p in skip])


def affected_apps(paths: Iterable[str], root: Path = ROOT, apps: Iterable[str] = APP_DIRS) -> List[str]:
    """The apps a burst touches: shared code is in every app, an app's own tree only in itself."""
    tops = set()
    for path in paths:
        try:
            tops.add(Path(path).relative_to(root).parts[0])
        except (ValueError, IndexError):
            continue
    return [app for app in apps if app in tops or SHARED in tops]


def revendor() -> Optional[str]:
    """Copy chalicelib_shared/ into both apps (`make sync`); the error as one line, if it failed."""
    from deploy.codegen import sync_shared
    try:
        sync_shared.sync()
    except (OSError, UnicodeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def digest(path: str) -> Optional[str]:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


class Reloader:
    """After each burst: re-vendor shared code if it changed, then SIGHUP each affected API server."""

    def __init__(self, servers: Dict[str, int], root: Path = ROOT, skip: Iterable[Path] = (),
                 out: Callable[[str], None] = print, send: Callable[[int, int], None] = os.kill) -> None:
        self.servers = dict(servers)
        self.root = root.resolve()
        self.skip = list(skip)
        self.out, self.send = out, send
        self.written: Dict[str, Optional[str]] = {}  # vendored copy -> digest of what revendor wrote there

    @property
    def roots(self) -> List[Path]:
        return [self.root / name for name in (*self.servers, SHARED)]

    def burst(self, changes: Changes) -> Set[str]:
        """The changed paths of a burst, without the vendored copies as the last re-vendoring wrote them."""
        paths = {path for _, path in changes}
        ours = {path for path in paths if path in self.written and digest(path) == self.written[path]}
        for path in paths - ours:
            self.written.pop(path, None)  # changed since: no longer ours
        return paths - ours

    def handle(self, changes: Changes) -> List[str]:
        """Act on a burst; returns the apps it reloaded."""
        burst = self.burst(changes)
        apps = affected_apps(burst, self.root, self.servers)
        if not apps:
            return []
        if any(Path(p).is_relative_to(self.root / SHARED) for p in burst):
            error = revendor()
            self._remember_copies()
            if error:
                self.out(f"reload: re-vendoring {SHARED}/ failed ({error}); the apps keep the old copies")
        added = {path for change, path in changes if change == Change.added}
        shown_paths = [p for p in burst if os.path.exists(p) or p not in added]  # not an editor's temp file
        names = sorted(os.path.relpath(p, self.root) for p in shown_paths or burst)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.out(f"reload: {shown} changed; restarting {', '.join(apps)}")
        for app in apps:
            try:
                self.send(self.servers[app], signal.SIGHUP)
            except ProcessLookupError:
                self.out(f"reload: {app} is not running")
        return apps

    def _remember_copies(self) -> None:
        for app in APP_DIRS:
            for dirpath, _, filenames in os.walk(self.root / app / "chalicelib" / "shared"):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    self.written[path] = digest(path)

    def run(self, keep_going: Callable[[], bool]) -> None:
        """Watch until `keep_going()` is false (checked at least every CHECK_SERVERS_MS). A signal whose
        handler raises while watchfiles waits comes out as KeyboardInterrupt."""
        for changes in watch(*self.roots, watch_filter=source_filter(self.skip), debounce=LONGEST_BURST_MS,
                             step=QUIET_MS, rust_timeout=CHECK_SERVERS_MS, yield_on_timeout=True):
            if not keep_going():
                return
            if changes:
                self.handle(changes)


def main(argv: Optional[List[str]] = None) -> int:
    """The reloader as its own process (`make dev`; `make up` with LOCAL_AUTORELOAD=1): runs until every
    server it watches is gone or it gets SIGTERM (`make down`)."""
    import argparse
    parser = argparse.ArgumentParser(description="Restart the local API servers when their code changes.")
    parser.add_argument("--skip", action="append", default=[], help="a tree not to watch (the state dir)")
    parser.add_argument("servers", nargs="+", metavar="APP=PID", help="e.g. users_app=1234")
    args = parser.parse_args(argv)
    servers = {}
    for arg in args.servers:
        name, _, pid = arg.partition("=")
        if name not in APP_DIRS or not pid.isdigit():
            parser.error(f"{arg!r}: expected users_app=PID or orders_app=PID")
        servers[name] = int(pid)
    reloader = Reloader(servers, skip=[Path(p) for p in args.skip], out=lambda line: print(line, flush=True))
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        reloader.run(lambda: any(alive(pid, SERVER_MARKER) for pid in servers.values()))
    except KeyboardInterrupt:  # SIGTERM or SIGINT while watchfiles waited
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
