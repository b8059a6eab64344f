"""The autoreload watcher (deploy/local/watch.py): what counts as a change, one result per burst,
the reloader's own writes absorbed, which apps a change restarts; and LOCAL_AUTORELOAD parsing."""
import os
from pathlib import Path
from typing import List

import pytest

from deploy.local import stack, watch
from tests.support.clock import FakeMonotonic


def tree(tmp_path: Path) -> Path:
    for rel in ("users_app/app.py", "orders_app/app.py", "chalicelib_shared/errors.py",
                "users_app/chalicelib/shared/errors.py", "orders_app/chalicelib/shared/errors.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    return tmp_path


def roots(root: Path) -> List[Path]:
    return [root / "users_app", root / "orders_app", root / "chalicelib_shared"]


def test_a_burst_is_reported_once_after_it_goes_quiet(tmp_path: Path) -> None:
    root, clock = tree(tmp_path), FakeMonotonic()
    watcher = watch.Watcher(roots(root), clock=clock)
    assert watcher.poll() == set()
    (root / "users_app/app.py").write_text("x = 2\n")
    assert watcher.poll() == set()               # changed: the burst may go on
    clock.now += 0.1
    (root / "users_app/new.py").write_text("y = 1\n")
    assert watcher.poll() == set()               # still going
    clock.now += watch.QUIET_SECONDS
    assert watcher.poll() == {str(root / "users_app/app.py"), str(root / "users_app/new.py")}
    clock.now += 5
    assert watcher.poll() == set()               # reported once


def test_a_save_by_rename_and_a_removal_are_changes(tmp_path: Path) -> None:
    root, clock = tree(tmp_path), FakeMonotonic()
    watcher = watch.Watcher(roots(root), clock=clock)
    temp = root / "orders_app/app.py.tmp1234"
    temp.write_text("x = 1\n")                    # same content and size, new inode
    os.replace(temp, root / "orders_app/app.py")
    (root / "chalicelib_shared/errors.py").unlink()
    watcher.poll()
    clock.now += watch.QUIET_SECONDS
    assert watcher.poll() == {str(root / "orders_app/app.py"), str(root / "chalicelib_shared/errors.py")}


@pytest.mark.parametrize("name", ["app.py.swp", ".app.py.swx", "app.py~", ".#app.py", "__pycache__/app.cpython-311.pyc",
                                  "mod.pyc"])
def test_editor_and_bytecode_files_are_not_changes(tmp_path: Path, name: str) -> None:
    root, clock = tree(tmp_path), FakeMonotonic()
    watcher = watch.Watcher(roots(root), clock=clock)
    path = root / "users_app" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("junk")
    watcher.poll()
    clock.now += 5
    assert watcher.poll() == set()


def test_the_state_dir_is_not_watched(tmp_path: Path) -> None:
    root, clock = tree(tmp_path), FakeMonotonic()
    state = root / "users_app" / ".local"
    state.mkdir()
    watcher = watch.Watcher(roots(root), skip=[state], clock=clock)
    (state / "users_app.log").write_text("a log line\n")
    watcher.poll()
    clock.now += 5
    assert watcher.poll() == set()


def test_absorbed_writes_do_not_start_a_burst_but_other_changes_still_do(tmp_path: Path) -> None:
    root, clock = tree(tmp_path), FakeMonotonic()
    watcher = watch.Watcher(roots(root), clock=clock)
    vendored = [root / "users_app/chalicelib/shared", root / "orders_app/chalicelib/shared"]
    for target in vendored:
        (target / "errors.py").write_text("x = 'vendored'\n")
    (root / "users_app/app.py").write_text("x = 3\n")  # a save that lands meanwhile
    watcher.absorb(vendored)
    watcher.poll()
    clock.now += watch.QUIET_SECONDS
    assert watcher.poll() == {str(root / "users_app/app.py")}


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
