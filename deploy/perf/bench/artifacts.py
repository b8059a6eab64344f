"""4. Artifact sizes, zipped and unzipped, and the runtime-provided packages found in them, for
(a) `chalice package`'s zips and (b) the build step's, both x86_64 (what this machine measures), and
the arm64 build step's zips (what deploys by default)."""
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional

from deploy.aws.build_step import layer_site_packages, runtime_provided
from deploy.perf.bench.packages import SIZED_ONLY, package_dir

OUR_TOP_LEVEL = {"app.py", "chalicelib", "__pycache__"}
CHALICE_RUNTIME = "chalice"  # Chalice's own runtime (chalice/app.py), vendored by `chalice package`


def artifact_report(app: str) -> Dict[str, Any]:
    report: Dict[str, Any] = {}
    variants = [("a", package_dir(app) / "chalice"), ("b", package_dir(app))]
    variants += [(f"b-{arch}", package_dir(app, arch)) for arch in SIZED_ONLY]
    for variant, directory in variants:
        report[variant] = {label: _zip_report(directory / name, label) for label, name in
                           (("deployment", "deployment.zip"), ("layer", "layer-deployment.zip"))}
    return report


def _zip_report(path: Path, label: str) -> Optional[Dict[str, Any]]:
    if not path.exists():
        return None
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    site = layer_site_packages(names) if label == "layer" else ""
    tops = sorted({n[len(site):].split("/", 1)[0] for n in names if n.startswith(site)})
    runtime = sorted({d for d in (runtime_provided(t) for t in tops) if d})
    info = {"zipped_bytes": path.stat().st_size, "unzipped_bytes": sum(i.file_size for i in infos),
            "files": len(infos), "pyc": sum(1 for n in names if n.endswith(".pyc")), "runtime_provided": runtime}
    if label == "deployment":
        info["not_our_code"] = [t for t in tops if t not in OUR_TOP_LEVEL]
    return info
