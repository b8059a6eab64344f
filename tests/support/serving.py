"""One small Chalice project served by the local API server (deploy/local/server.py), for tests of
the server itself: `serving(tmp_path, name, source, workers)` and `worker_pids(output)`, the PIDs of
the workers that logged a request in the server's output."""
import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, Iterator, Optional, Set, Tuple

import requests

from deploy.local.processes import free_port
from deploy.project import ROOT


@contextlib.contextmanager
def serving(tmp_path: Path, name: str, source: str, workers: int,
            env: Optional[Dict[str, str]] = None) -> Iterator[Tuple[int, Path]]:
    """Serve the one-file Chalice app `source` with the local server, its log file opened for
    appending as the stack does, under PYTHONUNBUFFERED (where `print` is two writes: the hard case
    for whole lines), with `env` over ours; yields its port and log file once the workers answer."""
    project = tmp_path / name
    (project / ".chalice").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": name, "stages": {"local": {"api_gateway_stage": "api"}}}))
    (project / "app.py").write_text(textwrap.dedent(source))
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    log = open(log_path, "ab")
    server = subprocess.Popen([sys.executable, "-m", "deploy.local.server", str(project), "--port", str(port),
                               "--workers", str(workers)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/nothing", timeout=(2, 10))
                break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still loading
                assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                time.sleep(0.1)
        yield port, log_path
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def worker_pids(output: str, request: str = "") -> Set[str]:
    """The PIDs in the gateway's request lines (`[gateway PID] address "GET /x HTTP/1.1" 200`),
    only of the lines that contain `request` when given (e.g. '"GET /b HTTP/1.1" 403')."""
    return {line.split("]")[0].split()[-1] for line in output.splitlines()
            if line.startswith("[gateway ") and request in line}
