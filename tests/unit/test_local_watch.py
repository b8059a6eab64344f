"""The autoreload watcher (deploy/local/watch.py): what counts as a change, one result per burst (both
through watchfiles, as the reloader configures it), the reloader's own writes absorbed, which apps a
change restarts; and LOCAL_AUTORELOAD parsing."""
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, List, Sequence, Set, Tuple

import pytest
import watchfiles
from watchfiles import Change

from deploy.local import stack, watch


def tree(tmp_path: Path) -> Path:
    for rel in ("users_app/app.py", "orders_app/app.py", "chalicelib_shared/errors.py",
                "users_app/chalicelib/shared/errors.py", "orders_app/chalicelib/shared/errors.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    return tmp_path


def roots(root: Path) -> List[Path]:
    return [root / "users_app", root / "orders_app", root / "chalicelib_shared"]


def bursts(root: Path, act: Callable[[], None], skip: Sequence[Path] = (), wait: float = 0.8) -> List[Set[str]]:
    """The bursts watchfiles reports, as the reloader watches (its filter and quiet time), while
    `act()` changes files under `root` and for `wait` seconds after."""
    found: List[Set[str]] = []
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        for changes in watchfiles.watch(*roots(root), watch_filter=watch.source_filter(skip), step=watch.QUIET_MS,
                                        debounce=watch.LONGEST_BURST_MS, stop_event=stop, rust_timeout=100,
                                        yield_on_timeout=True):
            ready.set()
            if changes:
                found.append({path for _, path in changes})

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5), "watchfiles did not start"
    act()
    time.sleep(wait)
    stop.set()
    thread.join(5)
    return found


def test_a_burst_is_reported_once_after_it_goes_quiet(tmp_path: Path) -> None:
    root = tree(tmp_path)

    def save_twice() -> None:
        (root / "users_app/app.py").write_text("x = 2\n")
        time.sleep(watch.QUIET_MS / 1000 / 2)   # still the same burst
        (root / "users_app/new.py").write_text("y = 1\n")

    assert bursts(root, save_twice) == [{str(root / "users_app/app.py"), str(root / "users_app/new.py")}]


def test_a_save_by_rename_and_a_removal_are_changes(tmp_path: Path) -> None:
    root = tree(tmp_path)

    def rename_and_remove() -> None:
        temp = root / "orders_app/app.py.tmp1234"
        temp.write_text("x = 1\n")                    # same content and size, new inode
        os.replace(temp, root / "orders_app/app.py")
        (root / "chalicelib_shared/errors.py").unlink()

    [burst] = bursts(root, rename_and_remove)
    assert {str(root / "orders_app/app.py"), str(root / "chalicelib_shared/errors.py")} <= burst
    assert watch.affected_apps(burst, root) == ["users_app", "orders_app"]


@pytest.mark.parametrize("name", ["app.py.swp", ".app.py.swx", "app.py~", ".#app.py", "__pycache__/app.cpython-311.pyc",
                                  "mod.pyc"])
def test_editor_and_bytecode_files_are_not_changes(tmp_path: Path, name: str) -> None:
    root = tree(tmp_path)
    path = root / "users_app" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    assert bursts(root, lambda: path.write_text("junk"), wait=0.6) == []


def test_the_state_dir_is_not_watched(tmp_path: Path) -> None:
    root = tree(tmp_path)
    state = root / "users_app" / ".local"
    state.mkdir()
    assert bursts(root, lambda: (state / "users_app.log").write_text("a log line\n"), skip=[state], wait=0.6) == []


def test_the_reloaders_own_writes_do_not_count_but_other_changes_still_do(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared change is vendored, then the copies it wrote come back as the next burst: not a change.
    A later edit of a copy is one."""
    root = tree(tmp_path)
    vendored = [root / "users_app/chalicelib/shared/errors.py", root / "orders_app/chalicelib/shared/errors.py"]

    def sync() -> None:
        for copy in vendored:
            copy.write_text((root / "chalicelib_shared/errors.py").read_text())
    monkeypatch.setattr(watch, "revendor", sync)
    lines: List[str] = []
    signalled: List[Tuple[int, int]] = []
    reloader = watch.Reloader({"users_app": 1, "orders_app": 2}, root, out=lines.append,
                              send=lambda pid, signum: signalled.append((pid, signum)))
    (root / "chalicelib_shared/errors.py").write_text("x = 'shared'\n")
    assert reloader.handle({(Change.modified, str(root / "chalicelib_shared/errors.py"))}) == ["users_app",
                                                                                                 "orders_app"]
    assert signalled == [(1, signal.SIGHUP), (2, signal.SIGHUP)]
    copies = {(Change.modified, str(copy)) for copy in vendored}
    assert reloader.handle(copies) == []                                   # the copies as it wrote them
    (root / "users_app/app.py").write_text("x = 3\n")                      # a save that lands meanwhile
    assert reloader.handle({*copies, (Change.modified, str(root / "users_app/app.py"))}) == ["users_app"]
    vendored[1].write_text("x = 'edited by hand'\n")
    assert reloader.handle({(Change.modified, str(vendored[1]))}) == ["orders_app"]
    assert len(lines) == 3
    assert lines[0] == "reload: chalicelib_shared/errors.py changed; restarting users_app, orders_app"


def test_affected_apps(tmp_path: Path) -> None:
    root = tmp_path
    assert watch.affected_apps([str(root / "users_app/app.py")], root) == ["users_app"]
    assert watch.affected_apps([str(root / "orders_app/chalicelib/orders/service.py")], root) == ["orders_app"]
    assert watch.affected_apps([str(root / "chalicelib_shared/http.py")], root) == ["users_app", "orders_app"]
    assert watch.affected_apps([str(root / "chalicelib_shared/http.py")], root, ["orders_app"]) == ["orders_app"]
    assert watch.affected_apps([], root) == []


@pytest.mark.parametrize("value, default, expected", [("", True, True), ("", False, False), ("0", True, False),
                                                      ("1", False, True), (" 1 ", False, True)])
def test_autoreload_setting(monkeypatch: pytest.MonkeyPatch, value: str, default: bool, expected: bool) -> None:
    monkeypatch.setenv("LOCAL_AUTORELOAD", value)
    assert stack.autoreload_setting(default) is expected


def test_autoreload_setting_rejects_other_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_AUTORELOAD", "yes")
    with pytest.raises(stack.StackError, match="LOCAL_AUTORELOAD='yes'"):
        stack.autoreload_setting(True)


def test_the_fixtures_default_is_off() -> None:
    assert stack.StackConfig(ports={}).autoreload is False
