"""Installing Vigil on a machine: the wheel built from this tree, `pip install`ed into a fresh
virtual environment, gives a `vigil` that serves the web interface from its own files; the
systemd unit in deploy/ passes `systemd-analyze verify` pointed at that `vigil`.

Offline: the wheel is built with the test environment's setuptools and wheel (no build
isolation, no index), and the fresh environment borrows the test environment's dependencies
through a .pth file instead of downloading them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveDevice
from tests.peers.processes import free_port, stop_process
from tests.release.signing import TREE

UNIT = TREE / "deploy" / "vigil.service"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `vigil` command of a fresh venv with the wheel of this tree installed."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"  # a clean copy: setuptools leaves build/ and egg-info where it builds
    shutil.copytree(TREE / "vigil", source / "vigil", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(TREE / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(root / "dist"), str(source)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("vigil-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                           "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return venv / "bin" / "vigil"


def test_the_wheel_installs_a_working_vigil_with_its_web_files(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([installed.parent / "python", "-P", "-c", "import vigil; print(vigil.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/").stdout
    assert where.startswith(str(installed.parent.parent)), where  # the installed copy, not this tree
    port = free_port()
    process = subprocess.Popen([installed, "run", "--profile", "w401", "--data", str(tmp_path / "data"), "--host",
                                "127.0.0.1", "--http-port", str(port), "--https-port", str(free_port()),
                                "--rtsp-port", str(free_port()), "--ssh-port", str(free_port())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
    try:
        live = LiveDevice(process, tmp_path / "data", port, 0, 0, "w401")
        live.wait_ready(30)
        page = httpx.get(live.http + "/index.html", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        script = httpx.get(live.http + "/app.js", timeout=10)
        assert script.status_code == 200 and "import" in script.text
    finally:
        stop_process(process, 10)


def test_the_systemd_unit_verifies(installed: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian's systemd package has it)")
    unit = tmp_path / "vigil.service"
    text = UNIT.read_text()
    assert "ExecStart=/opt/vigil/bin/vigil run" in text and "ProtectSystem=strict" in text
    unit.write_text(text.replace("/opt/vigil/bin/vigil", str(installed)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stderr + done.stdout
    broken = tmp_path / "broken.service"  # the check reads the options: a misspelt one is reported
    broken.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHom=yes"))
    done = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "Unknown key" in done.stderr
