"""Autoreload for the local stack: watch the apps' sources, re-vendor shared code, restart workers.

A polling watcher (os.stat every ~0.25 s) rather than inotify: no new dependency, it works the same
on every filesystem (bind mounts, network and container volumes, where inotify events go missing),
and the apps are a few dozen files, so a poll costs well under a millisecond.

Saves come in bursts (an editor writes a temp file and renames it; `make sync` or a branch switch
touches many files), so a change is acted on only once the files have been quiet for a moment, and
then each affected API is restarted exactly once. A change under chalicelib_shared/ is vendored into
both apps first (deploy/codegen/sync_shared.py); the files that writes are taken as seen, so the reloader's
own writes never count as a second burst.

    python -m deploy.local.watch [--skip STATE_DIR] users_app=PID orders_app=PID

The stack starts it as one of its processes (`make dev`, and `make up` with LOCAL_AUTORELOAD=1), so both
reload the same way and `make down` stops it like any other component.
"""
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from deploy.local.processes import alive
from deploy.project import APP_DIRS, ROOT

SHARED = "chalicelib_shared"
POLL_SECONDS = 0.25
QUIET_SECONDS = 0.2            # a burst is over once a poll this long after its last change saw nothing new
IGNORED_DIRS = {"__pycache__"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swo", ".swx", "~")
IGNORED_PREFIXES = (".#",)     # emacs lock files
SERVER_MARKER = "deploy.local.server"

Snapshot = Dict[str, Tuple[int, int, int]]


def ignored(name: str) -> bool:
    """Files that are not source: bytecode, editor swap, backup and lock files."""
    return name.endswith(IGNORED_SUFFIXES) or name.startswith(IGNORED_PREFIXES)


def snapshot(roots: Iterable[Path], skip: Iterable[Path] = ()) -> Snapshot:
    """path -> (mtime_ns, size, inode) of every watched file under `roots`, without the `skip` trees.
    The inode catches a save by rename that keeps the size within one timestamp tick."""
    skipped = {str(Path(p).resolve()) for p in skip}
    files: Snapshot = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS
                           and os.path.join(dirpath, d) not in skipped]
            for name in filenames:
                if ignored(name):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:  # removed between listing and stat: the next poll sees it gone
                    continue
                files[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return files


def changed(old: Snapshot, new: Snapshot) -> Set[str]:
    """Paths added, removed or modified between two snapshots."""
    return {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}


class Watcher:
    """Polls `roots`; `poll()` returns the paths of a burst of changes once the burst is over."""

    def __init__(self, roots: Iterable[Path], skip: Iterable[Path] = (), quiet: float = QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self.skip = [Path(p).resolve() for p in skip]
        self.quiet = quiet
        self.clock = clock
        self._seen = snapshot(self.roots, self.skip)
        self._pending: Set[str] = set()
        self._last_change = 0.0

    def poll(self) -> Set[str]:
        """The changed paths if a burst just ended, else an empty set (also while one goes on)."""
        now = snapshot(self.roots, self.skip)
        fresh = changed(self._seen, now)
        self._seen = now
        if fresh:
            self._pending |= fresh
            self._last_change = self.clock()
            return set()
        if self._pending and self.clock() - self._last_change >= self.quiet:
            burst, self._pending = self._pending, set()
            return burst
        return set()

    def absorb(self, trees: Iterable[Path]) -> None:
        """Take the files under `trees` as they are now as seen: what the reloader itself just wrote
        (the vendored copies) must not start another burst."""
        trees = [Path(t).resolve() for t in trees]
        prefixes = tuple(str(t) + os.sep for t in trees)
        kept = {p: v for p, v in self._seen.items() if not p.startswith(prefixes)}
        kept.update(snapshot([t for t in trees if t.is_dir()], self.skip))
        self._seen = kept


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


class Reloader:
    """Watches the apps and shared code; after each burst re-vendors shared code if it changed and
    sends SIGHUP to each affected API server, which replaces its workers (deploy/local/server.py)."""

    def __init__(self, servers: Dict[str, int], root: Path = ROOT, skip: Iterable[Path] = (),
                 out: Callable[[str], None] = print) -> None:
        self.servers = dict(servers)
        self.root = root.resolve()
        self.out = out
        self.watcher = Watcher([self.root / name for name in (*self.servers, SHARED)], skip)

    def poll(self) -> List[str]:
        """Act on a finished burst, if any; returns the apps it restarted."""
        burst = self.watcher.poll()
        apps = affected_apps(burst, self.root, self.servers)
        if not apps:
            return []
        if any(Path(p).is_relative_to(self.root / SHARED) for p in burst):
            error = revendor()
            self.watcher.absorb(self.root / app / "chalicelib" / "shared" for app in APP_DIRS)
            if error:
                self.out(f"reload: re-vendoring {SHARED}/ failed ({error}); the apps keep the old copies")
        names = sorted(os.path.relpath(p, self.root) for p in burst)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.out(f"reload: {shown} changed; restarting {', '.join(apps)}")
        for app in apps:
            try:
                os.kill(self.servers[app], signal.SIGHUP)
            except ProcessLookupError:
                self.out(f"reload: {app} is not running")
        return apps


def main(argv: Optional[List[str]] = None) -> int:
    """The reloader as its own process (`make up` with LOCAL_AUTORELOAD=1): runs until every server
    it watches is gone or it gets SIGTERM (`make down`)."""
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
    while any(alive(pid, SERVER_MARKER) for pid in servers.values()):
        reloader.poll()
        time.sleep(POLL_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
