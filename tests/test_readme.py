"""The README's commands are what CI runs and what the package offers."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readmes_test_command():
    main, tests = readme_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert tests in ci
    assert "sigdenoise grid --latent 5 --noise 1.0" in main
    # Installs stay on the local CPU build of torch.
    assert "-c constraints.txt" in main and "-c constraints.txt" in tests
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()
