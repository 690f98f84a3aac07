import subprocess
import sys


def test_help_lists_commands_and_exits_zero() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "relitigate", "--help"], capture_output=True, text=True, check=True
    )
    assert "version" in out.stdout


def test_help_does_not_import_litellm_or_prefect() -> None:
    code = (
        "import sys; from relitigate.cli.app import app; "
        "bad = [m for m in ('litellm', 'prefect') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
