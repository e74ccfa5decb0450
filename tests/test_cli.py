import subprocess
import sys

from cfdash import __version__


def test_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "cfdash", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"cfdash {__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "cfdash", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage: cfdash" in out.stdout


def test_package_exports_the_seed_names():
    import cfdash
    from cfdash.client import WSClient

    assert cfdash.WSClient is WSClient
    assert cfdash.Assets["XBT"] == 63488
