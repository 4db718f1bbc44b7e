"""The `medallion` command line as a newcomer meets it: errors that name the option, help on every option,
and `make dev` on a port of one's choosing."""

import argparse
import subprocess

import pytest

from medallion_platform.cli import build_parser, main
from medallion_platform.settings import PROJECT_ROOT

BAD_DAY = "23-11-2026"


@pytest.mark.parametrize("argv, flag", [
    (["drop", "--source", "customers", "--rows", "1", "--day", BAD_DAY], "--day"),
    (["generate", "--start-date", BAD_DAY], "--start-date"),
    (["demo", "--start-date", BAD_DAY], "--start-date"),
    (["materialize", "--select", "*", "--partition", BAD_DAY], "--partition"),
    (["materialize", "--select", "*", "--partition-range", f"2026-11-20...{BAD_DAY}"], "--partition-range"),
])
def test_a_malformed_date_is_refused_naming_its_option(argv, flag, capsys, tmp_path, clean_env):
    clean_env.setenv("MEDALLION_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"{flag}: expected YYYY-MM-DD, got '{BAD_DAY}'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything was written


def test_a_partition_range_without_its_separator_is_refused_naming_the_option(capsys):
    with pytest.raises(SystemExit):
        main(["materialize", "--select", "*", "--partition-range", "2026-11-20"])
    assert "--partition-range: expected FIRST...LAST (YYYY-MM-DD...YYYY-MM-DD), got '2026-11-20'" in capsys.readouterr().err


def _parsers(parser: argparse.ArgumentParser, name: str):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {choice}")


def test_every_command_and_option_has_help_text():
    missing = []
    for name, parser in _parsers(build_parser(), "medallion"):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                described = {choice.dest for choice in action._choices_actions if choice.help}
                missing += [f"{name} {command}" for command in action.choices if command not in described]
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_make_dev_passes_its_port_to_medallion_dev():
    planned = subprocess.run(["make", "-n", "dev", "PORT=3001"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert ".venv/bin/medallion dev --port 3001" in planned.splitlines()
    default = subprocess.run(["make", "-n", "dev"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout
    assert ".venv/bin/medallion dev --port 3000" in default.splitlines()


def test_medallion_dev_rejects_a_port_that_is_not_one(capsys):
    with pytest.raises(SystemExit):
        main(["dev", "--port", "70000"])
    assert "--port: expected a TCP port 1-65535, got '70000'" in capsys.readouterr().err
