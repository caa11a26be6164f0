"""The ``rulecheck`` command line.

Commands: ``check`` (run a policy, exit code for CI), ``validate`` (check policy files without
touching data; imports neither numpy nor pandas), ``list-rules``, ``explain KIND`` and ``schema``
(JSON Schema of the policy format, for editors).

Exit codes: 0 every rule passed; 1 a rule failed; 2 policy or input error, or any ERROR verdict;
3 internal error (a bug: please report it with the traceback); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TextIO

from rulecheck.errors import InputError, PolicyError
from rulecheck.verdict import ExitCode, Report, Status

if TYPE_CHECKING:
    from rulecheck.policy import CsvOptions

__all__ = ["main"]

FORMATS = ("text", "json")
# The report format an output file's extension implies when --format is not given; any other
# extension gets text. One table: a new format adds its extension here.
FORMAT_BY_SUFFIX = {".json": "json", ".txt": "text"}
INTERRUPTED = "rulecheck: interrupted"
FORMAT_MISMATCH = (
    "--format {format} does not match the output file {output!r} (a {suffix} file is {implied}); "
    "drop --format or change the file name"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rulecheck",
        description="Check machine-learning models against declarative fairness and interpretability policies.",
        epilog=(
            "Exit codes: 0 pass, 1 a rule failed, 2 policy/input error or ERROR verdict, "
            "3 internal error, 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser(
        "check", help="evaluate a policy against data and a model or predictions"
    )
    check.add_argument("policy", help="policy YAML file")
    check.add_argument("--data", help="data file (CSV or Parquet); overrides target.data")
    check.add_argument("--model", help="model file (.skops, LightGBM .txt, XGBoost .json, ...)")
    check.add_argument("--label", help="label column; overrides target.label")
    check.add_argument("--prediction", help="column of precomputed decisions (no model)")
    check.add_argument(
        "--score", help="column of precomputed scores (probability of the positive label)"
    )
    check.add_argument("--baseline", help="baseline model file to compare with (change bounds)")
    check.add_argument("--baseline-prediction", help="column of the baseline's decisions")
    check.add_argument("--baseline-score", help="column of the baseline's scores")
    check.add_argument("--positive-label", help="label value that counts as positive")
    check.add_argument("--threshold", type=float, help="scores >= threshold are positive decisions")
    check.add_argument(
        "--sample-weight", help="column of sample weights; overrides target.sample_weight"
    )
    check.add_argument(
        "--format",
        choices=FORMATS,
        help="report format (default: from the --output extension, .json -> json, else text)",
    )
    check.add_argument("--output", "-o", help="write the report to this file (atomically)")
    check.add_argument(
        "--csv-delimiter",
        help="CSV field delimiter, one character (';', '|', '\\t' for tab); overrides target.csv",
    )
    check.add_argument(
        "--trust-model", action="store_true", help="allow pickle/joblib and untrusted skops types"
    )
    check.add_argument("--strict", action="store_true", help="warnings fail the gate too (exit 1)")
    check.add_argument("--no-color", action="store_true", help="never colour the text output")
    check.add_argument(
        "--verbose", "-v", action="store_true", help="text output: show each rule's wall time"
    )

    validate = sub.add_parser("validate", help="validate policy files (no data, no model)")
    validate.add_argument("policies", nargs="+", help="policy YAML files")

    sub.add_parser("list-rules", help="list the rule kinds")
    explain = sub.add_parser("explain", help="documentation of a rule kind")
    explain.add_argument("kind")
    sub.add_parser("schema", help="print the JSON Schema of the policy format")
    return parser


def _version() -> str:
    from rulecheck import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rulecheck`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "validate":
            return _validate(args.policies)
        if args.command == "list-rules":
            return _list_rules()
        if args.command == "explain":
            return _explain(args.kind)
        return _schema()
    except PolicyError as exc:
        print(exc.render(), file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except (InputError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"rulecheck: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    except KeyboardInterrupt:
        # Ctrl-C is the user's choice, not a bug: no traceback; the atomic writer left no file.
        print(INTERRUPTED, file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(
            "rulecheck: internal error (a bug in rulecheck); please report it with the traceback above",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL_ERROR


def _check(args: argparse.Namespace) -> int:
    from rulecheck.evaluation import evaluate
    from rulecheck.policy import load_policy
    from rulecheck.report import RENDERERS
    from rulecheck.report.text import render as render_text

    policy_path = Path(args.policy)
    if not policy_path.is_file():
        raise InputError(f"policy file {args.policy!r} does not exist")
    report_format = _report_format(args.format, args.output)
    policy = load_policy(policy_path)
    print(*(w.warning() + "\n" for w in policy.warnings), sep="", file=sys.stderr, end="")
    if args.output:
        _refuse_input_overwrite(Path(args.output), policy_path, policy, args)
    positive: str | int | float | None = args.positive_label
    if isinstance(positive, str):
        positive = _number_or_text(positive)
    report = evaluate(
        policy,
        args.data,
        model=args.model,
        label=args.label,
        prediction=args.prediction,
        score=args.score,
        positive_label=positive,
        threshold=args.threshold,
        sample_weight=args.sample_weight,
        baseline=args.baseline,
        baseline_prediction=args.baseline_prediction,
        baseline_score=args.baseline_score,
        trust_model=args.trust_model,
        strict=args.strict,
        csv=_csv_options(args.csv_delimiter),
    )
    _print_errors(report, sys.stderr)
    color = not args.no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    if args.output:
        _write_atomic(Path(args.output), RENDERERS[report_format](report))
        sys.stdout.write(render_text(report, color=color, verbose=args.verbose))
        print(f"report written to {args.output}")
    elif report_format == "text":
        sys.stdout.write(render_text(report, color=color, verbose=args.verbose))
    else:
        sys.stdout.write(RENDERERS[report_format](report))
    return int(report.exit_code())  # the report records the gate: text, JSON and code agree


def _report_format(given: str | None, output: str | None) -> str:
    """--format, else the format the output file's extension implies (text by default).

    A --format that contradicts a known extension (``--format text -o r.json``) is refused.
    """
    suffix = Path(output).suffix.lower() if output else ""
    implied = FORMAT_BY_SUFFIX.get(suffix)
    if given is None:
        return implied or "text"
    if implied is not None and implied != given:
        raise InputError(
            FORMAT_MISMATCH.format(format=given, output=output, suffix=suffix, implied=implied)
        )
    return given


def _csv_options(delimiter: str | None) -> CsvOptions | None:
    from rulecheck.policy import CsvOptions

    if delimiter is None:
        return None
    # A shell makes typing a real tab awkward: accept the escape and the word.
    delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    if len(delimiter) != 1:
        raise InputError(f"--csv-delimiter must be one character, got {delimiter!r}")
    return CsvOptions(delimiter=delimiter)


def _number_or_text(value: str) -> str | int | float:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def _print_errors(report: Report, stream: TextIO) -> None:
    for error in report.errors:
        print(f"rulecheck: error: {error}", file=stream)
    if report.errors:
        return  # every rule repeats the same message; say it once
    for verdict in report.verdicts:
        if verdict.status is Status.ERROR:
            where = f"{verdict.source.where()}: " if verdict.source else ""
            print(f"{where}rule {verdict.rule_id}: error: {verdict.message}", file=stream)


def _refuse_input_overwrite(
    output: Path, policy_path: Path, policy: object, args: argparse.Namespace
) -> None:
    inputs = [policy_path]
    for value in (args.data, args.model, args.baseline):
        if value:
            inputs.append(Path(value))
    target = getattr(policy, "target", None)
    base = policy_path.parent
    if target is not None:
        for value in (target.data, target.model, target.baseline):
            if value:
                inputs.append(base / value)
    resolved = output.resolve()
    for path in inputs:
        if path.resolve() == resolved:
            raise InputError(f"refusing to write the report over an input file: {output}")


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; a report is an ordinary file, readable as the umask allows.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(current)
    return current


def _validate(paths: Sequence[str]) -> int:
    from rulecheck.policy import load_policy

    code = ExitCode.OK
    for name in paths:
        try:
            policy = load_policy(Path(name))
        except PolicyError as exc:
            print(exc.render(), file=sys.stderr)
            code = ExitCode.USAGE_ERROR
            continue
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
            print(f"rulecheck: error: cannot read {name}: {exc}", file=sys.stderr)
            code = ExitCode.USAGE_ERROR
            continue
        print(*(w.warning() + "\n" for w in policy.warnings), sep="", file=sys.stderr, end="")
        count = len(policy.rules)
        print(f"{name}: ok ({count} rule{'s' if count != 1 else ''})")
    return int(code)


def _list_rules() -> int:
    from rulecheck.rules import KINDS

    width = max(len(kind) for kind in KINDS)
    for kind, cls in KINDS.items():
        print(f"{kind.ljust(width)}  {cls.summary}")
    return ExitCode.OK


def _explain(kind: str) -> int:
    import importlib

    from rulecheck.rules import KINDS

    if kind not in KINDS:
        print(
            f"rulecheck: error: no such rule kind {kind!r}; valid kinds: {', '.join(KINDS)}",
            file=sys.stderr,
        )
        return ExitCode.USAGE_ERROR
    cls = KINDS[kind]
    doc = importlib.import_module(cls.__module__).__doc__ or ""
    print(plain_text(doc.strip()))
    print("\nFields")
    for name, field in cls.model_fields.items():
        if name == "kind":
            continue
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = f"default {field.get_default(call_default_factory=True)!r}"
        else:
            default = f"default {field.default!r}"
        line = f"- {name} ({default}): {field.description or ''}".rstrip(": ")
        print(plain_text(line))
    return ExitCode.OK


_MARKUP = (
    (re.compile(r"``(.+?)``"), r"\1"),  # RST literal
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),  # bold
    (re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"),  # :func:`x` roles
    (re.compile(r"(?<![\w`])`([^`\n]+)`(?![\w`])"), r"\1"),  # Markdown code / RST default role
)


def plain_text(text: str) -> str:
    """Docstring markup as plain text for a terminal: literals, bold and roles lose their marks,
    fenced code blocks lose their fences and are indented (their content is left as written)."""
    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            out.append(f"    {line}" if line else line)
            continue
        for pattern, replacement in _MARKUP:
            line = pattern.sub(replacement, line)
        out.append(line)
    return "\n".join(out)


def _schema() -> int:
    from rulecheck.policy import Policy

    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rulecheck policy (version 1)"
    print(json.dumps(schema, indent=2))
    return ExitCode.OK


def console() -> NoReturn:
    """The console script: :func:`main`, then exit with its code.

    After Ctrl-C the process ends at once, skipping interpreter shutdown: native state stopped
    midway (a numba JIT compile inside shap, thread pools) can print errors or hang in its
    finalizers, and nothing is left to clean up (the atomic writer removed its temporary file).
    """
    signal.signal(signal.SIGINT, _on_interrupt)
    sys.unraisablehook = _unraisable
    code = main()
    if code == ExitCode.INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


# Seconds the process may take to end after Ctrl-C before it is ended without cleanup.
INTERRUPT_GRACE_S = 3.0


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt, and end the process if it has not ended within the grace time.

    Python raises it only between bytecodes, and a library may swallow it and carry on, so a
    watchdog makes Ctrl-C reliable.
    """
    watchdog = threading.Timer(INTERRUPT_GRACE_S, _exit_interrupted)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def _unraisable(info: sys.UnraisableHookArgs) -> None:
    """Ctrl-C inside a ctypes callback (llvmlite's, while numba compiles for shap) cannot propagate:
    Python would print "Exception ignored" with a traceback and numba would keep compiling."""
    if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
        _exit_interrupted()
    sys.__unraisablehook__(info)


def _exit_interrupted() -> None:
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(ExitCode.INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    console()
