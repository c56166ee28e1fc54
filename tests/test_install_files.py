"""The files the README's install steps copy: the wrapper script parses and cron calls it."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config"


def test_the_wrapper_is_valid_sh_and_loads_secrets_and_config() -> None:
    wrapper = CONFIG / "whmcs-bridge.sh"
    checked = subprocess.run(["sh", "-n", str(wrapper)], capture_output=True, text=True)
    assert (checked.returncode, checked.stderr) == (0, "")
    text = wrapper.read_text()
    assert ". /etc/whmcs-bridge/secrets.env" in text
    assert "WHMCS_BRIDGE_CONFIG" in text


def test_cron_runs_the_wrapper_as_the_bridge_user() -> None:
    jobs = [
        line.split()
        for line in (CONFIG / "whmcs-bridge.cron").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [job[5:8] for job in jobs] == [["whmcs-bridge", "/usr/local/bin/whmcs-bridge", "run"]]


# --- The package: every folder declared, a wheel that carries every file, no setuptools warnings.

ROOT = CONFIG.parent
# Where each installed package name lives in the checkout (setup.cfg's package_dir).
SOURCE_ROOTS = {"whmcs_bridge": ROOT / "whmcs_bridge", "whmcs_bridge.plugins": ROOT / "plugins"}


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _source_files() -> dict[str, Path]:
    """Path inside the wheel -> file in the checkout, for every file a package folder holds."""
    files: dict[str, Path] = {}
    for package, folder in SOURCE_ROOTS.items():
        prefix = package.replace(".", "/")
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if package == "whmcs_bridge" and path.is_relative_to(
                SOURCE_ROOTS["whmcs_bridge.plugins"]
            ):
                continue
            files[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path
    return files


def test_every_package_folder_is_declared_in_setup_cfg() -> None:
    """A folder with an ``__init__.py`` missing from ``packages =`` would be left out of the
    wheel without a word: name it here, with the line to add."""
    declared = set(_setup_cfg()["options"]["packages"].split())
    on_disk = set()
    for package, folder in SOURCE_ROOTS.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            on_disk.add(".".join((package, *parts)))
    missing = sorted(on_disk - declared)
    gone = sorted(declared - on_disk)
    assert (missing, gone) == ([], []), (
        f"setup.cfg [options] packages = lacks {missing} (add one line each), "
        f"names folders that have no __init__.py: {gone}"
    )


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Not about this project: pip's notes on the machine's configured indexes, and the notice
# setuptools (its ``InformationOnly`` class) prints for every editable install that is not a
# src-layout, about folders named like the package in the working directory.
NOT_OURS = ("WARNING: Location 'file:", "BuildBackendWarning: Editable installation.")


def _warnings(done: subprocess.CompletedProcess[str]) -> list[str]:
    """Lines of a verbose pip run that warn, but those of :data:`NOT_OURS`."""
    return [
        line.strip()
        for line in (done.stdout + done.stderr).splitlines()
        if "warn" in line.lower() and not any(note in line for note in NOT_OURS)
    ]


def test_wheel_and_editable_install_build_without_warnings(tmp_path: Path) -> None:
    """``pip install .`` and ``pip install -e .`` (issue 18): setuptools has nothing to say, and
    the wheel holds every file of every package folder, the message templates included."""
    source = tmp_path / "src"
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    files = _source_files()
    for folder in SOURCE_ROOTS.values():
        shutil.copytree(
            folder,
            source / folder.relative_to(ROOT),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )

    built = _pip("wheel", "-v", "--no-deps", "-w", str(tmp_path / "dist"), ".", cwd=source)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert _warnings(built) == []
    [wheel] = (tmp_path / "dist").glob("whmcs_bridge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        inside = {name for name in archive.namelist() if ".dist-info/" not in name}
    left_out = sorted(set(files) - inside)
    assert [name for name in left_out if name.endswith(".py")] == [], "a package is not declared"
    assert left_out == [], "declare these files under setup.cfg [options.package_data]"
    assert sorted(inside - set(files)) == []
    assert any(name.endswith(".j2") and "/templates/es_AR/" in name for name in inside)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    editable = _pip(
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "-v",
        "--no-deps",
        "-e",
        ".",
        cwd=source,
    )
    assert editable.returncode == 0, editable.stdout[-3000:] + editable.stderr[-3000:]
    assert _warnings(editable) == []
