"""Copy chalicelib_shared/ into each app's chalicelib/shared/ (copies: Chalice drops symlinks).

    python deploy/codegen/sync_shared.py          # write the copies
    python deploy/codegen/sync_shared.py --check  # exit 1 naming every missing, stale or extra file

Each copy starts with a GENERATED header; the rest is the source byte for byte.

It works on the checkout it is in (TREE), not on deploy.project.ROOT: tests/unit/shared/test_vendoring.py
loads a copy of this file from a copied tree, in a process that has already imported this checkout's
deploy package, and the copy must check and write the copied tree.
"""
import sys
from pathlib import Path
from typing import Dict, List

TREE = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # run by path (make sync): the checkout's deploy package is not on sys.path yet
    sys.path.insert(0, str(TREE))
from deploy.project import APP_DIRS  # noqa: E402 - after the path, when run by path

SOURCE = TREE / "chalicelib_shared"
HEADER = "# GENERATED from chalicelib_shared/{name} by `make sync`. Do not edit: edit the source and run `make sync`.\n"


def expected_files() -> Dict[str, str]:
    files = {}
    for path in sorted(SOURCE.glob("*.py")):
        files[path.name] = HEADER.format(name=path.name) + path.read_text(encoding="utf-8")
    return files


def problems() -> List[str]:
    found = []
    expected = expected_files()
    for app in APP_DIRS:
        target = TREE / app / "chalicelib" / "shared"
        for name, text in expected.items():
            copy = target / name
            rel = copy.relative_to(TREE)
            if copy.is_symlink():
                found.append(f"{rel} is a symlink (Chalice drops those when packaging)")
            elif not copy.exists():
                found.append(f"{rel} is missing")
            elif copy.read_text(encoding="utf-8") != text:
                found.append(f"{rel} differs from chalicelib_shared/{name} (stale or hand-edited)")
        if target.exists():
            for extra in sorted(target.glob("*.py")):
                if extra.name not in expected:
                    found.append(f"{extra.relative_to(TREE)} has no source in chalicelib_shared/")
    return found


def sync() -> None:
    expected = expected_files()
    for app in APP_DIRS:
        target = TREE / app / "chalicelib" / "shared"
        if target.is_symlink():
            target.unlink()
        target.mkdir(parents=True, exist_ok=True)
        for extra in target.glob("*.py"):
            if extra.name not in expected:
                extra.unlink()
        for name, text in expected.items():
            copy = target / name
            if copy.is_symlink():
                copy.unlink()
            if not copy.exists() or copy.read_text(encoding="utf-8") != text:
                copy.write_text(text, encoding="utf-8")


def main(argv: List[str]) -> int:
    if "--check" in argv:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("run `make sync` to refresh the vendored copies", file=sys.stderr)
        return 1 if found else 0
    sync()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
