from cfdash import __version__
from tests.support.processes import run_cfdash as _cfdash


def test_version_and_help():
    out = _cfdash("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"cfdash {__version__}"
    out = _cfdash("--help")
    assert out.returncode == 0 and "usage: cfdash" in out.stdout
    assert "serve" in out.stdout and "example" in out.stdout


def test_subcommand_help():
    for command in ("serve", "example"):
        out = _cfdash(command, "--help")
        assert out.returncode == 0, out.stderr
        assert f"usage: cfdash {command}" in out.stdout


def test_package_exports_the_seed_names():
    import cfdash
    from cfdash.client import WSClient

    assert cfdash.WSClient is WSClient
    assert cfdash.Assets["XBT"] == 63488
