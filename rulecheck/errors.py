"""Errors raised by rulecheck.

Every error a user can cause is a :class:`RulecheckError`; anything else escaping rulecheck is a bug
(the CLI exits 3 for those). Each class says what to do about it.

- :class:`PolicyError`: the policy file is malformed or invalid. It carries every problem found,
  each with the file, line and column it points at. Fix the policy.
- :class:`InputError`: the data, the model or an argument does not fit the policy (a missing
  column, NaN in a label, a model that raises). At run time it becomes an ERROR verdict for the
  rules it affects; the other rules still run.
- :class:`UntrustedModelError`: a model file would need code execution (pickle) or contains types
  that are not trusted by default. Re-run with ``trust_model=True`` / ``--trust-model`` only if you
  trust where the file comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # an annotation only: `import rulecheck` (and --help) need not load PyYAML
    from rulecheck._source import Span

__all__ = [
    "InputError",
    "PolicyError",
    "PolicyProblem",
    "RulecheckError",
    "TimeBudgetExceeded",
    "UntrustedModelError",
]


class RulecheckError(Exception):
    """Base class of every error that a user's input can cause."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One problem in a policy: where it is, which field, and what is wrong."""

    span: Span
    location: str  # e.g. "rules[1] (id: fpr-gap-race).max_difference"
    message: str
    type: str  # machine-readable code, e.g. "less_than_equal", "duplicate_key"

    def headline(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{self.span.where()}: {where}{self.message} [{self.type}]"

    def warning(self) -> str:
        """One line for a problem that does not stop the policy: ``file:line:col: warning: ...``."""
        where = f"{self.location}: " if self.location else ""
        return f"{self.span.where()}: warning: {where}{self.message} [{self.type}]"


class PolicyError(RulecheckError):
    """The policy is invalid; ``problems`` lists every problem found, sorted by position."""

    def __init__(
        self,
        problems: Sequence[PolicyProblem],
        source_text: str | None = None,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.span.line, p.span.column)))
        self.source_text = source_text
        # The text of every file a problem may point into (a policy and the ones it extends).
        self.sources = dict(sources or {})
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} in policy"
        super().__init__(summary + "\n" + "\n".join(p.headline() for p in self.problems))

    def render(self) -> str:
        """All problems, each with a numbered snippet and a caret under the offending column."""
        blocks: list[str] = []
        lines = self.source_text.splitlines() if self.source_text is not None else None
        for problem in self.problems:
            block = problem.headline()
            text = self.sources.get(problem.span.file)
            shown = text.splitlines() if text is not None else lines
            if shown is not None:
                block += "\n" + problem.span.snippet(shown)
            blocks.append(block)
        count = len(self.problems)
        blocks.append(f"{count} problem{'s' if count != 1 else ''} found.")
        return "\n\n".join(blocks)


class InputError(RulecheckError):
    """Data, model or arguments do not fit the policy.

    ``subject`` names what is wrong (a column, the model, an argument) so that messages can be
    grouped; the message itself is one readable sentence.
    """

    def __init__(self, message: str, *, subject: str = "") -> None:
        self.message = message
        self.subject = subject
        super().__init__(message)


class UntrustedModelError(InputError):
    """Loading this model file would trust code or types that are not trusted by default."""


class TimeBudgetExceeded(InputError):
    """A computation ran past its time budget; lower its row count or raise the budget."""
