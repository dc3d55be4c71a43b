"""The static package list in pyproject.toml covers every folder that ships (code or data).

setuptools only installs folders it is told about; a new subfolder of prozess/, cluster/,
workloads/, nemesis/ or checkers/ that is not listed would be missing from a non-editable
install (and setuptools would warn on every `pip install`). This test names the folder to add.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_shipped_folder_is_a_listed_package():
    cfg = _config()
    listed = set(cfg["packages"])
    mapping = cfg["package-dir"]
    expected = set()
    for package, folder in mapping.items():
        base = ROOT / folder
        for d in [base, *(p for p in base.rglob("*") if p.is_dir())]:
            if "__pycache__" in d.parts or not any(f.is_file() for f in d.iterdir()):
                continue
            rel = d.relative_to(base)
            expected.add(".".join([package, *rel.parts]))
    missing = sorted(expected - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    def folder(package: str) -> Path:
        root = max((m for m in mapping if package == m or package.startswith(m + ".")), key=len)
        return ROOT / mapping[root] / Path(*package[len(root):].split(".")[1:])

    stale = sorted(p for p in listed if not folder(p).is_dir())
    assert not stale, f"listed in pyproject.toml but no such folder: {stale}"


def test_data_folders_have_package_data_and_the_license_is_an_spdx_string():
    cfg = _config()
    data = cfg["package-data"]
    for package in ("prozess.report.templates", "prozess.cluster.node", "prozess.cluster.node.bin"):
        assert package in data, package
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)  # a TOML table is deprecated by setuptools
    assert not (ROOT / "setup.py").exists(), "the folder -> package mapping lives in pyproject.toml"
