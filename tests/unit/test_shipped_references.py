"""Shipped code (both apps and chalicelib_shared) names only files that exist in this repository.

A comment or docstring that points at a moved test file, or at a document outside the repository
(e.g. a design note only some clones have next to them), sends the reader nowhere. Every path-like
name (`dir/file.ext` or `file.ext`) in a shipped file must name a file of this repository, read from
the repository root, the file's own folder, an app folder or chalicelib_shared/. URLs are citations
of public pages and are left alone; `/...` names that are not documents are URL paths (e.g. a JWKS path).
"""
import re
from pathlib import Path
from typing import Iterator, List

import pytest

from deploy.project import ROOT

SHIPPED = ("users_app", "orders_app", "chalicelib_shared")
SUFFIXES = ("py", "md", "json", "txt", "toml", "mjs", "java", "yml", "yaml", "html", "cfg", "ini", "sh", "rst")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
PATH = re.compile(r"(?<![\w.~/-])([\w.~/-]*[\w-]\.(?:" + "|".join(SUFFIXES) + r"))(?![\w/-])")
DOCUMENT = re.compile(r"\.(md|rst|txt)$")


def shipped_files() -> Iterator[Path]:
    for top in SHIPPED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json", ".txt", ".md"):
                yield path


def missing_references(path: Path, text: str) -> List[str]:
    bases = [ROOT, path.parent, ROOT / "users_app", ROOT / "orders_app", ROOT / "chalicelib_shared"]
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for name in PATH.findall(URL.sub(" ", line)):
            if name.startswith("/") and not DOCUMENT.search(name):
                continue  # a URL path such as /.well-known/jwks.json
            outside = name.startswith(("/", "~", "..")) or ".." in name.split("/")
            if outside or not any((base / name).is_file() for base in bases):
                found.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    return found


def test_shipped_code_names_only_files_of_this_repository() -> None:
    problems = [problem for path in shipped_files() for problem in missing_references(path, path.read_text())]
    assert problems == [], "shipped code names files that are not in this repository:\n" + "\n".join(problems)


@pytest.mark.parametrize("line, named", [
    ("contract tests (tests/unit/orders/test_repository_contract.py)",
     ["tests/unit/orders/test_repository_contract.py"]),
    ("the stage's settings applied (DESIGN.md §4b)", ["DESIGN.md"]),
    ("see ../shared/DESIGN.md", ["../shared/DESIGN.md"]),
    ("see /work/shared/notes.md", ["/work/shared/notes.md"]),
    ("contract tests (tests/contract/test_orders_repository.py)", []),
    ("README.md, section \"Coming from Chalice\"; render.py; .chalice/config.json", []),
    ("JWKS at f\"{issuer}/.well-known/jwks.json\"", []),
    ("ADOT's https://github.com/o/r/blob/main/src/otlp_udp_exporter.py exporter", []),
    ("version 1.2.3, e.g. 2026-01-02, ids like order.id", []),
])
def test_the_check_finds_missing_and_outside_files(line: str, named: List[str]) -> None:
    shipped = ROOT / "orders_app" / "chalicelib" / "orders" / "repository.py"
    assert [problem.rsplit(": ", 1)[1] for problem in missing_references(shipped, line)] == named
