"""The README's usage example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    usage = text.split("## Usage", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", usage, flags=re.S)
    assert len(blocks) == 1, "the README's usage section should hold one python example"
    exec(compile(blocks[0], str(README), "exec"), {})
    printed = capsys.readouterr().out
    assert "torch.Size([4, 10, 16]) torch.Size([4, 4, 8])" in printed
    assert "torch.Size([1, 1, 50, 20])" in printed


def test_readme_quick_start_is_two_commands():
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```\n(.*?)```", quick_start, flags=re.S)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in commands] == ["make demo", "make test"]
