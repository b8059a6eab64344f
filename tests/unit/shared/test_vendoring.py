"""The vendored copies of chalicelib_shared must match the source exactly (run `make sync`)."""
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Tuple

import pytest

from deploy.project import ROOT


def load_sync(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_shared_under_test",
                                                  root / "deploy" / "codegen" / "sync_shared.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_copies_match_the_source() -> None:
    problems = load_sync(ROOT).problems()
    assert problems == [], "vendored shared code drifted; run `make sync`:\n" + "\n".join(problems)


@pytest.fixture
def tree(tmp_path: Path) -> Tuple[Path, ModuleType]:
    for part in ("chalicelib_shared", "deploy", "users_app/chalicelib/shared", "orders_app/chalicelib/shared"):
        shutil.copytree(ROOT / part, tmp_path / part, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "build", "*.pyc"))
    return tmp_path, load_sync(tmp_path)


def test_a_hand_edit_is_named(tree: Tuple[Path, ModuleType]) -> None:
    root, sync = tree
    copy = root / "orders_app/chalicelib/shared/errors.py"
    copy.write_text(copy.read_text() + "\n# quick fix\n")
    assert sync.problems() == ["orders_app/chalicelib/shared/errors.py differs from chalicelib_shared/errors.py "
                               "(stale or hand-edited)"]
    sync.sync()
    assert sync.problems() == []


def test_missing_stale_extra_and_symlinked_copies_are_named(tree: Tuple[Path, ModuleType]) -> None:
    root, sync = tree
    (root / "users_app/chalicelib/shared/pagination.py").unlink()
    (root / "chalicelib_shared/errors.py").write_text((root / "chalicelib_shared/errors.py").read_text() + "\nX = 1\n")
    (root / "users_app/chalicelib/shared/leftover.py").write_text("")
    target = root / "orders_app/chalicelib/shared/http.py"
    target.unlink()
    target.symlink_to(root / "chalicelib_shared/http.py")
    found = "\n".join(sync.problems())
    assert "users_app/chalicelib/shared/pagination.py is missing" in found
    assert "users_app/chalicelib/shared/errors.py differs" in found
    assert "orders_app/chalicelib/shared/errors.py differs" in found
    assert "users_app/chalicelib/shared/leftover.py has no source" in found
    assert "orders_app/chalicelib/shared/http.py is a symlink" in found
    sync.sync()
    assert sync.problems() == []
    assert not target.is_symlink()
