"""Which of Chalice's own commands may load these apps: `chalice package`, and nothing else.

Chalice's CLI imports app.py for `chalice package`, `chalice deploy`, `chalice local` and a few
developer commands, with the stage's `environment_variables` applied (`CLIFactory.load_chalice_app`);
every command sets `AWS_CHALICE_CLI_MODE=true`, and click's context names the command. This project
deploys through CloudFormation and serves locally through the strict local gateway, so:

- `chalice package` is what `make package` runs. The stage's settings are placeholders there
  (REPLACED_BY_MERGE_TEMPLATE; the merge template fills them in), and settings allow that.
- `chalice deploy` would create roles, a layer and functions with placeholder settings and none of
  the tables, user pool, gateway responses, alarms or dashboards: it stops before any AWS call.
- `chalice local` cannot enforce the authorizers as API Gateway does (README.md, "Coming from
  Chalice"): it stops.
- Any other command that imports the app stops too, naming what to use instead.

Outside Chalice's CLI (Lambda, the strict local gateway, the test client) nothing here applies.
"""
import os
import signal
import sys
import threading
from typing import Optional, Tuple

INSTEAD = {
    "deploy": "the tables, user pool, gateway responses, alarms and dashboards live in the "
              "CloudFormation stack, which `chalice deploy` does not create: run `make deploy STAGE={stage}` "
              "in the project root",
    "delete": "the stacks are deleted, orders first, by `make destroy STAGE={stage}` in the project root",
    "generate-models": "the OpenAPI documents are generated from the request models: run `make openapi` "
                       "in the project root",
}


def chalice_command() -> Optional[Tuple[str, str]]:
    """(command, stage) when Chalice's CLI is importing this app, else None."""
    if os.environ.get("AWS_CHALICE_CLI_MODE") != "true":
        return None  # Lambda, the strict local gateway, tests: never touch click here
    if os.environ.get("CHALICE_WORKER"):
        return "local", ""  # `chalice local`'s autoreload worker imports the app in a thread without click
    import click  # Chalice's CLI is built on click
    context = click.get_current_context(silent=True)
    if context is None:  # e.g. a test process a click CliRunner left AWS_CHALICE_CLI_MODE in
        return None
    return context.info_name or "", str(context.params.get("stage") or "dev")


def packaging() -> bool:
    """True while `chalice package` imports the app (placeholder settings are expected)."""
    command = chalice_command()
    return command is not None and command[0] == "package"


def refusal(command: str, stage: str, app: str, local_reason: str) -> str:
    if command == "local":
        return (f"chalice local cannot serve the {app} API as API Gateway does: {local_reason}. "
                f"Run `make dev` in the project root instead: both APIs behind the strict local gateway, "
                f"which enforces their authorizers, and reloads on save.")
    instead = INSTEAD.get(command, "see README.md, section \"Coming from Chalice\", for what this project "
                                   "uses instead").format(stage=stage or "dev")
    return f"chalice {command} is not used for the {app} API: {instead}."


def allow_only_package(app: str, local_reason: str) -> None:
    """Stop every Chalice CLI command but `chalice package` with one line (no traceback)."""
    command = chalice_command()
    if command is None or command[0] == "package":
        return
    line = refusal(command[0], command[1], app, local_reason)
    if threading.current_thread() is threading.main_thread():
        raise SystemExit(line)  # the CLI prints it and exits 1, before any AWS call
    # `chalice local`'s reloader imports the app in a thread of its worker process, which would swallow
    # SystemExit and keep the process alive with nothing listening: end the worker itself. Its parent,
    # the reloader, would then exit 0 (it looks only for its restart code, 3), so a script would believe
    # the server started: end the parent first, with SIGTERM (Python's default action: exit at once,
    # status 143 in a shell, no traceback; bash prints nothing for it).
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    _end_reloader_parent()
    os._exit(1)


def _end_reloader_parent() -> None:
    """SIGTERM the process that started this `chalice local` worker, if it is its reloader: the same
    command line (the reloader starts its worker with its own argv and CHALICE_WORKER set)."""
    if not os.environ.get("CHALICE_WORKER"):
        return
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as theirs, open("/proc/self/cmdline", "rb") as ours:
            same = theirs.read() == ours.read()
    except OSError:  # not Linux, or the parent is gone
        return
    if same and parent > 1:
        os.kill(parent, signal.SIGTERM)
