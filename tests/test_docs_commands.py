"""Every ``fastrsa`` command in the docs' ```bash blocks runs as written.

(Python examples are doctests: pyproject's ``--doctest-glob='*.md'``.)
Commands run from a scratch folder that sees the repository's ``tests``
folder, so the pictures they write land there, not in the checkout.  A
block meant as syntax, with placeholders, is a ```text block.
"""

import glob
import os
import re
import shlex

import pytest

from fastrsa import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _commands():
    found = []
    for path in [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        for block in _BLOCK.findall(text):
            for line in block.splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith("fastrsa ") and "benchmarks" not in line:
                    found.append(pytest.param(line, id=f"{os.path.basename(path)}: {line[:60]}"))
    return found


COMMANDS = _commands()


def test_the_docs_hold_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("command", COMMANDS)
def test_a_documented_command_runs(command, tmp_path, monkeypatch, capsys):
    # In this process (its kernels compiled once for all the commands); tests/test_cli.py runs the
    # command line in subprocesses as a user does.
    os.symlink(os.path.join(ROOT, "tests"), tmp_path / "tests")
    monkeypatch.chdir(tmp_path)
    assert cli.main(shlex.split(command)[1:]) == 0, f"{command}\n{capsys.readouterr().err}"
