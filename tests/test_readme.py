"""The README's usage example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    """The README's section ``## title``, up to the next section."""
    text = README.read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def run_example(title: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", section(title), flags=re.S)
    assert len(blocks) == 1, f"the README's {title} section should hold one python example"
    exec(compile(blocks[0], str(README), "exec"), {})


def test_readme_ensemble_example_runs(capsys):
    run_example("Many networks at once")
    printed = capsys.readouterr().out
    assert "torch.Size([16, 1, 1000, 20]) torch.Size([16, 1, 1, 20])" in printed


def test_readme_usage_example_runs(capsys):
    run_example("Usage")
    printed = capsys.readouterr().out
    assert "torch.Size([4, 10, 16]) torch.Size([4, 4, 8])" in printed
    assert "torch.Size([1, 1, 50, 20])" in printed


def test_readme_quick_start_is_two_commands():
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```\n(.*?)```", quick_start, flags=re.S)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in commands] == ["make demo", "make test"]
