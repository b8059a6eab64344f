"""The format version of a persistent local state dir (.local/state-version), and what happens on a mismatch.

What the state dir holds is only meaningful to the code that wrote it: moto's recording names the pool
and client by their ids and replays the requests the recorder kept, and the DynamoDB data names users by
the `sub`s that replay gives back. Version 1 (no `state-version` file) was the HASH ids
(`us-east-1_dd6ac6ee...`) with every request recorded; version 2 is AWS-shaped ids
(deploy/local/moto_ids.py) with writes recorded only (deploy/local/moto_server.py), and CloudFormation
stacks in the recording. Replaying one under the other cannot work (the recorded requests name ids
that no longer exist, and the replayed `sub`s would differ), so a state dir of another version is moved
aside whole, into `previous-v<found>-<time>/` beside it, nothing deleted, and the stack starts afresh,
saying so in one line. Logs stay where they are.
"""
import time
from pathlib import Path
from typing import Optional

STATE_VERSION = "2"
VERSION_FILE = "state-version"
STATE_ENTRIES = ("cognito-recording.jsonl", "dynamodb")  # what a start replays or reopens


def found_version(state_dir: Path) -> Optional[str]:
    """The version the dir was written by; "1" for state written before versions existed; None when it
    holds no state yet."""
    try:
        return (state_dir / VERSION_FILE).read_text().strip() or "1"
    except FileNotFoundError:
        return "1" if any(_has_state(state_dir / name) for name in STATE_ENTRIES) else None


def _has_state(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def prepare(state_dir: Path) -> Optional[str]:
    """Make `state_dir` hold state of STATE_VERSION (or none yet); returns the one line to print when
    state of another version was moved aside, else None."""
    found = found_version(state_dir)
    notice = None
    if found not in (None, STATE_VERSION):
        aside = state_dir / f"previous-v{_safe(found)}-{time.strftime('%Y%m%d-%H%M%S')}"
        aside.mkdir()
        for name in (*STATE_ENTRIES, VERSION_FILE):
            if (state_dir / name).exists():
                (state_dir / name).rename(aside / name)
        notice = (f"local state in {state_dir} is format v{found}, this checkout uses v{STATE_VERSION} "
                  f"(AWS-shaped Cognito ids, CloudFormation outputs): moved it to {aside} and starting afresh")
    (state_dir / VERSION_FILE).write_text(STATE_VERSION + "\n")
    return notice


def _safe(version: str) -> str:
    return "".join(c for c in version if c.isalnum())[:16] or "unknown"
