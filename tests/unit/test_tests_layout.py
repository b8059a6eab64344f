"""The test suite's own layout rules (README.md, "Layout: where things go"), checked so they hold:
helpers live in tests/support, nobody imports from a conftest, the shared fixtures are registered in
one place, the project's constants come from deploy/project.py, and every function is annotated."""
import ast
from pathlib import Path
from typing import Iterator, List, Tuple

from deploy.project import ROOT

TESTS = ROOT / "tests"


def modules() -> Iterator[Tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_helpers_live_in_tests_support() -> None:
    """Outside tests/support a folder holds test modules, its conftest.py and __init__.py only."""
    stray = [rel(path) for path, _ in modules()
             if path.parent != TESTS / "support"
             and not (path.name.startswith("test_") or path.name in ("conftest.py", "__init__.py"))]
    assert stray == [], f"helpers belong in tests/support: {stray}"


def test_nothing_imports_from_a_conftest() -> None:
    found: List[str] = []
    for path, tree in modules():
        for node in ast.walk(tree):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{rel(path)}:{node.lineno} {name}" for name in names if name.split(".")[-1] == "conftest"]
    assert found == [], f"conftest files hold fixtures for their folder; import helpers from tests.support: {found}"


def test_shared_fixtures_are_registered_once_in_tests_conftest() -> None:
    declaring = [rel(path) for path, tree in modules()
                 if any(isinstance(node, ast.Assign)
                        and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets) for node in tree.body)]
    assert declaring == ["tests/conftest.py"]


def test_project_constants_come_from_deploy_project() -> None:
    """ROOT and the apps are written down once, in deploy/project.py."""
    redefined = [f"{rel(path)}:{node.lineno}" for path, tree in modules() for node in tree.body
                 if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", "") in ("ROOT", "APPS", "APP_DIRS") for t in node.targets)]
    assert redefined == [], f"import these from deploy.project: {redefined}"


def test_every_function_annotates_its_parameters_and_return_type() -> None:
    missing: List[str] = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                      *(a for a in (args.vararg, args.kwarg) if a is not None)]
            bare = [a.arg for a in params if a.annotation is None and a.arg not in ("self", "cls")]
            if bare or node.returns is None:
                missing.append(f"{rel(path)}:{node.lineno} {node.name}" + (f" ({', '.join(bare)})" if bare else ""))
    assert missing == [], "unannotated:\n" + "\n".join(missing)
