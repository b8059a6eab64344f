"""The build step after `chalice package`: strip what Lambda provides, precompile, rewrite the zips.

    python -m deploy.aws.build_step SRC_DIR DST_DIR   # SRC_DIR holds chalice's deployment.zip + layer zip

- Removes the packages the Lambda Python runtime already ships (boto3, botocore, s3transfer, jmespath,
  urllib3, python-dateutil, six) with their dist-info: a dependency that requires botocore drags it into
  the layer, where an uncompiled copy would shadow the runtime's compiled one.
- Compiles every .py to `__pycache__/*.pyc` with `--invalidation-mode unchecked-hash`: `chalice package` ships
  none, so Lambda would compile every import on each cold start; timestamp-based .pyc go stale after a zip
  round trip, hash-based unchecked ones do not. The .py stay (tracebacks); paths in the bytecode are the
  ones Lambda unpacks to (/var/task, /opt).
- Writes the zips deterministically (sorted entries, fixed timestamps).

The bytecode is only valid for the Python version that compiles it, so it is compiled by the interpreter of
the declared Lambda runtime (LAMBDA_RUNTIME in deploy/project.py, its virtualenv from deploy/aws/runtimes.py)
in a subprocess, whatever Python runs this; `build_package_dir` checks sam.json's Runtime against it.

It verifies, it does not rebuild, architecture and runtime: every shared object in both zips must be an ELF
file for the functions' `Architectures` (AArch64 e_machine 0xB7, x86-64 0x3E: the 20-byte header says), every
compiled extension's name must be `*.abi3.so` or `*.cpython-<runtime>-<machine>-linux-gnu.so`, and every
wheel's tags must name that machine (or none) and the runtime's ABI (none, abi3, cp3XY); anything else
fails the build, naming the file.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

from deploy.aws import runtimes
from deploy.project import LAMBDA_RUNTIME

# Distribution name (normalised) -> the top-level import names it installs.
RUNTIME_PROVIDED: Dict[str, tuple] = {
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "s3transfer": ("s3transfer",),
    "jmespath": ("jmespath",),
    "urllib3": ("urllib3",),
    "python_dateutil": ("dateutil",),
    "six": ("six",),
}
RUNTIME_IMPORT_NAMES = frozenset(name for names in RUNTIME_PROVIDED.values() for name in names)
DEPLOYMENT_ZIP = "deployment.zip"
LAYER_ZIP = "layer-deployment.zip"
LAMBDA_TASK_ROOT = "/var/task"
LAMBDA_LAYER_ROOT = "/opt"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_META_SUFFIXES = (".dist-info", ".egg-info", ".data")
ELF_MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}  # e_machine, bytes 18-19 of the ELF header
WHEEL_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
RUNTIME_TAG = LAMBDA_RUNTIME.removeprefix("python").replace(".", "")  # "313": cp313, cpython-313
EXTENSION = re.compile(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$")


class BuildError(Exception):
    pass


@dataclass
class ZipReport:
    path: str
    removed: List[str] = field(default_factory=list)
    compiled: int = 0
    size_before: int = 0
    size_after: int = 0


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def runtime_provided(top_level: str) -> Optional[str]:
    """The runtime-provided distribution a top-level site-packages entry belongs to, else None.

    `top_level` is a file or directory name directly inside site-packages (e.g. `six.py`,
    `botocore`, `python_dateutil-2.9.0.post0.dist-info`)."""
    for suffix in _META_SUFFIXES:
        if top_level.endswith(suffix):
            dist = _normalise(top_level[: -len(suffix)].split("-")[0])
            return dist if dist in RUNTIME_PROVIDED else None
    module = top_level[:-3] if top_level.endswith(".py") else top_level
    for dist, names in RUNTIME_PROVIDED.items():
        if module in names:
            return dist
    return None


def layer_site_packages(names: List[str]) -> str:
    """The `python/lib/pythonX.Y/site-packages/` prefix inside a layer zip."""
    for name in names:
        match = re.match(r"(python/lib/python\d+\.\d+/site-packages/)", name)
        if match:
            return match.group(1)
    return "python/"


def _site_root(zip_path: Path, names: List[str]) -> str:
    return layer_site_packages(names) if zip_path.name == LAYER_ZIP else ""


def process_zip(src: Path, dst: Path, runtime_root: str) -> ZipReport:
    """Strip, compile and rewrite one zip. `runtime_root` is where Lambda unpacks it (/var/task or /opt)."""
    report = ZipReport(path=str(dst), size_before=src.stat().st_size)
    with tempfile.TemporaryDirectory(prefix="build-step-") as tmp:
        root = Path(tmp)
        modes = _extract_kept(src, root, report)
        compiled = subprocess.run([str(runtimes.ensure_venv()), "-m", "compileall", "-q", "-j", "0",
                                   "--invalidation-mode", "unchecked-hash", "-d", runtime_root, str(root)],
                                  capture_output=True, text=True)
        if compiled.returncode != 0:
            raise BuildError(f"{src}: some modules do not compile with {LAMBDA_RUNTIME}:\n"
                             f"{compiled.stdout[-2000:]}{compiled.stderr[-2000:]}")
        files = sorted(p for p in root.rglob("*") if p.is_file())
        report.compiled = sum(1 for p in files if p.suffix == ".pyc")
        _write_zip(root, files, modes, dst)
    report.removed.sort()
    report.size_after = dst.stat().st_size
    return report


def _extract_kept(src: Path, root: Path, report: ZipReport) -> Dict[str, int]:
    """Unzip into `root` all but bytecode and runtime-provided packages (named in `report.removed`);
    returns each kept file's mode."""
    modes: Dict[str, int] = {}
    with zipfile.ZipFile(src) as zf:
        site = _site_root(src, zf.namelist())
        for info in zf.infolist():
            if info.is_dir():
                continue
            rel = info.filename
            if rel.endswith(".pyc") or "/__pycache__/" in "/" + rel:
                continue  # stale or foreign bytecode: compiled fresh by process_zip
            if rel.startswith(site):
                top = rel[len(site):].split("/", 1)[0]
                if runtime_provided(top):
                    if top not in report.removed:
                        report.removed.append(top)
                    continue
            zf.extract(info, root)
            modes[rel] = (info.external_attr >> 16) & 0o777 or 0o644
    return modes


def _write_zip(root: Path, files: List[Path], modes: Dict[str, int], dst: Path) -> None:
    """`files` (under `root`) zipped deterministically: sorted, fixed timestamps, the original modes."""
    tmp_out = dst.with_name(dst.name + ".tmp")
    with zipfile.ZipFile(tmp_out, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in files:
            rel = path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(rel, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | modes.get(rel, 0o644)) << 16
            out.writestr(info, path.read_bytes())
    os.replace(tmp_out, dst)


def target_architecture(template: Dict) -> str:
    """The one architecture of the template's functions and layers (Lambda's default: x86_64)."""
    found: Set[str] = set()
    for res in template.get("Resources", {}).values():
        props = res.get("Properties", {})
        if res.get("Type", "").endswith("::Function"):
            found.update(props.get("Architectures") or ["x86_64"])
        elif "CompatibleArchitectures" in props:
            found.update(props["CompatibleArchitectures"])
    if len(found) != 1 or not found <= set(ELF_MACHINES):
        raise BuildError(f"expected one architecture out of {sorted(ELF_MACHINES)}, the template has {sorted(found)}")
    return found.pop()


def elf_machine(header: bytes) -> Optional[int]:
    """e_machine of an ELF file from its first 20 bytes (None if it is no ELF file)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def wheel_problems(name: str, text: str, arch: str) -> List[str]:
    """What in a dist-info WHEEL file's tags does not run on `arch` with the declared runtime."""
    other = {m for a, m in WHEEL_MACHINES.items() if a != arch}
    abi_ok = {"none", "abi3", f"cp{RUNTIME_TAG}"}
    problems = []
    for line in text.splitlines():
        if not line.startswith("Tag:"):
            continue
        tag = line.split(":", 1)[1].strip()
        _python, abi, platform = tag.split("-", 2)
        if any(machine in platform for machine in other) or (platform != "any"
                                                               and WHEEL_MACHINES[arch] not in platform):
            problems.append(f"{name}: wheel tag {tag} is not for {arch}")
        elif abi not in abi_ok:
            problems.append(f"{name}: wheel tag {tag} is not for {LAMBDA_RUNTIME}'s ABI")
    return problems


def extension_problem(name: str, arch: str) -> Optional[str]:
    """Why a compiled extension's file name is not for the declared runtime and `arch`, else None."""
    match = EXTENSION.search(name)
    if match and (match.group(1) != RUNTIME_TAG or match.group(2) != WHEEL_MACHINES[arch]):
        return f"{name}: built for cpython-{match.group(1)} on {match.group(2)}, not {LAMBDA_RUNTIME} on {arch}"
    return None


def check_architecture(zip_path: Path, arch: str) -> int:
    """Every shared object, extension name and wheel tag in `zip_path` is for `arch` and the declared
    runtime; returns how many .so it read."""
    problems: List[str] = []
    shared_objects = 0
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            if name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]:
                with zf.open(info) as handle:
                    machine = elf_machine(handle.read(20))
                shared_objects += 1
                if machine != ELF_MACHINES[arch]:
                    problems.append(f"{name}: ELF machine {machine if machine is None else hex(machine)}, "
                                    f"not {arch}'s {hex(ELF_MACHINES[arch])}")
                problems += [p for p in [extension_problem(name, arch)] if p]
            elif name.endswith(".dist-info/WHEEL"):
                problems += wheel_problems(name, zf.read(info).decode("utf-8", "replace"), arch)
    if problems:
        raise BuildError(f"{zip_path.name} holds code for another architecture than {arch} or another "
                         f"runtime than {LAMBDA_RUNTIME}:\n  "
                         + "\n  ".join(problems))
    return shared_objects


def check_runtime(template: Dict) -> None:
    """Bytecode is version-specific: every function/layer runtime must be the declared one."""
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        found = [props["Runtime"]] if "Runtime" in props else props.get("CompatibleRuntimes", [])
        for runtime in found:
            if runtime != LAMBDA_RUNTIME:
                raise BuildError(f"{name} runs on {runtime} but the Lambda runtime is {LAMBDA_RUNTIME} "
                                 f"(deploy/project.py): package with {LAMBDA_RUNTIME} so the bytecode matches")


def build_package_dir(src: Path, dst: Path) -> List[ZipReport]:
    """Process chalice's output in `src` into `dst` (may be the same directory)."""
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    sam = src / "sam.json"
    arch = None
    if sam.exists():
        template = json.loads(sam.read_text())
        check_runtime(template)
        arch = target_architecture(template)
    reports = []
    for name, runtime_root in ((DEPLOYMENT_ZIP, LAMBDA_TASK_ROOT), (LAYER_ZIP, LAMBDA_LAYER_ROOT)):
        if not (src / name).exists():
            if name == DEPLOYMENT_ZIP:
                raise BuildError(f"{src}: no {name}")
            continue
        target = dst / name
        if src != dst:
            shutil.copyfile(src / name, target)
        reports.append(process_zip(target, target, runtime_root))
        if arch:
            check_architecture(target, arch)
    return reports


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="directory with chalice's deployment.zip and layer zip")
    parser.add_argument("dst", type=Path, nargs="?", help="output directory (default: rewrite in place)")
    args = parser.parse_args(argv)
    try:
        for report in build_package_dir(args.src, args.dst or args.src):
            print(f"{report.path}: removed {', '.join(report.removed) or 'nothing'}; {report.compiled} .pyc; "
                  f"{report.size_before / 1e6:.1f} MB -> {report.size_after / 1e6:.1f} MB")
    except (BuildError, runtimes.RuntimeNotFound) as exc:
        print(f"build step failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
