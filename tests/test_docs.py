"""The README and the command line agree: every command a README names exists, every option it
gives a command is one of that command's current (not deprecated) options, and every command of
the CLI is shown somewhere in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command

from ofa.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "pipelines" / "README.md", ROOT / "devices" / "README.md"]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`(ofa [^`]+)`")


def _is_group(command) -> bool:
    return hasattr(command, "commands")


def _leaves(group, path: tuple[str, ...] = ()) -> dict:
    if _is_group(group):
        out = {}
        for name, sub in group.commands.items():
            out.update(_leaves(sub, path + (name,)))
        return out
    return {path: group}


def _calls(text: str) -> list[list[str]]:
    """Every `ofa ...` command in a Markdown text's code blocks (a continued line joined, a comment
    or an arrow of a diagram ending it) and inline code spans, as words."""
    calls = []
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s->\s", line.split("#")[0]):
                if part.strip().startswith("ofa "):
                    calls.append(part.split())
    return calls + [m.group(1).split() for m in _SPAN.finditer(_FENCE.sub("", text))]


def _resolve(root, words: list[str]) -> tuple:
    command, rest = root, words[1:]
    while _is_group(command) and rest and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


def _long_options(command) -> tuple[set[str], set[str]]:
    shown, hidden = set(), set()
    for p in command.params:
        if p.param_type_name == "option":
            names = {n for n in p.opts + p.secondary_opts if n.startswith("--")}
            (hidden if p.hidden else shown).update(names)
    return shown, hidden


ROOT_COMMAND = get_command(app)
CALLS = [(doc.relative_to(ROOT).as_posix(), words) for doc in DOCS for words in _calls(doc.read_text())]


def test_the_docs_show_commands():
    assert len(CALLS) > 40


@pytest.mark.parametrize("doc,words", CALLS, ids=[" ".join(w[:3]) for _, w in CALLS])
def test_every_documented_command_and_option_exists(doc, words):
    command, rest = _resolve(ROOT_COMMAND, words)
    assert not _is_group(command) or not rest or rest[0].startswith("-"), \
        f"{doc}: `{' '.join(words)}` names no command"
    if _is_group(command):
        return
    shown, hidden = _long_options(command)
    for word in rest:
        option = word.split("=")[0].rstrip(",.;:)")
        if not re.fullmatch(r"--[a-z][a-z0-9-]*", option):
            continue
        assert option not in hidden, f"{doc}: `{' '.join(words)}` uses the deprecated spelling {option}"
        assert option in shown, f"{doc}: `{' '.join(words)}`: {option} is not an option of this command"


def test_every_command_is_in_the_readme():
    named = {id(_resolve(ROOT_COMMAND, words)[0]) for _, words in CALLS}
    missing = [" ".join(path) for path, command in _leaves(ROOT_COMMAND).items() if id(command) not in named]
    assert not missing, f"commands no README shows: {missing}"
