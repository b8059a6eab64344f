"""The API docs in a real browser: `chromium()` finds the system's Chromium (Debian's `chromium` package;
CHROMIUM=path overrides), `docs_flow(config)` runs tests/support/docs_flow.mjs (playwright-core from
deploy/local/node_modules driving that Chromium) and returns the JSON document it prints."""
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional

from deploy.project import ROOT

SCRIPT = ROOT / "tests" / "support" / "docs_flow.mjs"
PLAYWRIGHT = ROOT / "deploy" / "local" / "node_modules" / "playwright-core"
DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")  # what Debian's /usr/bin/chromium wrapper starts


def chromium() -> Optional[str]:
    """The Chromium executable to drive, or None when none is installed."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    if DEBIAN_BINARY.exists():  # the binary itself: the wrapper adds flags from /etc/chromium.d and prints noise
        return str(DEBIAN_BINARY)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> Optional[str]:
    """Why the browser test cannot run here (None: it can)."""
    if chromium() is None:
        return "Chromium is not installed: `apt-get install chromium` (Debian; .ci/run does it) or set CHROMIUM"
    if shutil.which("node") is None:
        return "node is not installed (it comes with npm: install Node.js)"
    if not PLAYWRIGHT.exists():
        return f"playwright-core is not installed in {PLAYWRIGHT.parent}: run `make deps`"
    return None


def docs_flow(config: Dict[str, Any], timeout: float = 120) -> Dict[str, Any]:
    """Run the docs flow with `config` (see docs_flow.mjs) and return its result document; a run that
    printed no document returns {"ok": False, "error": <what it printed>}."""
    try:
        run = subprocess.run(["node", str(SCRIPT), json.dumps({"chromium": chromium(), **config})],
                             capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"the browser run did not finish within {timeout:.0f}s"}
    lines = run.stdout.strip().splitlines()
    try:
        result: Dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"ok": False, "error": f"exit {run.returncode}: {(run.stderr or run.stdout).strip()[-2000:]}"}
    if run.stderr.strip():
        result["stderr"] = run.stderr.strip()[-2000:]
    return result
