"""Every command output shown in README.md and examples/*/README.md is the real output.

Convention: an output block is the fenced block right after a marker naming its command,

    <!-- output: rulecheck check examples/compas/policy.yaml -->

The command runs in-process through ``rulecheck.cli.main`` from the repository root, with
``NO_COLOR`` set and stdout not a terminal, and its stdout must equal the block exactly. Each
example is evaluated once per session (``evaluate_once`` in tests/conftest.py), shared with the
verdict and oracle tests. A report block without a marker, or a ``rulecheck check`` command shown
without its output, fails here, so a new README cannot show an unchecked output.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from rulecheck import cli
from rulecheck.engines import losses
from rulecheck.engines.losses import LossRegistry
from tests.conftest import EvaluateOnce

ROOT = Path(__file__).resolve().parents[2]
# The root README and every example's (examples/data/ holds the data's provenance, no policy).
READMES = [ROOT / "README.md"] + [
    policy.with_name("README.md") for policy in sorted((ROOT / "examples").glob("*/policy.yaml"))
]

MARKER = re.compile(r"^<!-- output: (?P<command>.+?) -->\n\n?```\n(?P<text>.*?)^```$", re.M | re.S)
# Any fenced block whose first line is a text report's header.
REPORT_BLOCK = re.compile(r"^```\n(?=rulecheck: )", re.M)
# A `rulecheck check` command shown in a console or bash block.
SHOWN_COMMAND = re.compile(r"^(?:\$ |.*&& )(rulecheck check \S+)", re.M)


@dataclass(frozen=True)
class Shown:
    readme: Path
    command: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.readme.relative_to(ROOT)}: {self.command}"


def _shown(readme: Path) -> list[Shown]:
    text = readme.read_text(encoding="utf-8")
    return [Shown(readme, m["command"], m["text"]) for m in MARKER.finditer(text)]


SHOWN = [shown for readme in READMES for shown in _shown(readme)]


@pytest.fixture(scope="module")
def run() -> dict[str, tuple[int, str]]:
    """command -> (exit code, stdout); each command runs once, however many READMEs show it."""
    return {}


def _run_cli(
    command: str, evaluate_once: EvaluateOnce, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    argv = shlex.split(command)
    assert argv[0] == "rulecheck", command
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("rulecheck.evaluation.evaluate", evaluate_once)
    # examples/custom_loss needs its plugin: registered as `pip install ./examples/custom_loss`
    # would, in a fresh registry that replaces the process-wide one for this call only.
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "custom_loss"))
    import rulecheck_focal

    registry = LossRegistry(entry_points=None)
    rulecheck_focal.register(registry=registry)
    monkeypatch.setattr(losses, "_DEFAULT_REGISTRY", registry)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(argv[1:])
    return code, stdout.getvalue()


def test_readmes_show_outputs() -> None:
    """The convention is in use: the root README and every example show at least one output."""
    shown_in = {s.readme for s in SHOWN}
    assert shown_in == set(READMES)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_report_block_and_check_command_is_marked(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    marked = _shown(readme)
    assert len(REPORT_BLOCK.findall(text)) == len(marked), "a report block has no output marker"
    commands = {s.command for s in marked}
    for command in SHOWN_COMMAND.findall(text):
        assert command in commands, f"{command!r} is shown without its output"


def test_the_cli_reuses_the_shared_evaluation(
    evaluate_once: EvaluateOnce, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = "rulecheck check examples/compas/policy.yaml"
    runs, hits = evaluate_once.runs, evaluate_once.hits
    first = _run_cli(command, evaluate_once, monkeypatch)
    assert _run_cli(command, evaluate_once, monkeypatch) == first
    assert (evaluate_once.runs - runs, evaluate_once.hits - hits) in {(0, 2), (1, 1)}


@pytest.mark.parametrize("shown", SHOWN, ids=lambda s: s.id)
def test_readme_shows_the_real_output(
    shown: Shown,
    run: dict[str, tuple[int, str]],
    evaluate_once: EvaluateOnce,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if shown.command not in run:
        run[shown.command] = _run_cli(shown.command, evaluate_once, monkeypatch)
    code, stdout = run[shown.command]
    assert stdout == shown.text
    # The report's last line states the exit code; the CLI must return that code.
    # The summary states the exit code, and the gate when a warning made it matter.
    assert re.search(
        rf"Exit code {code}( \((not )?strict: warnings (pass|fail)\))?\.$", stdout.rstrip()
    )
