"""The ``rulecheck`` command line.

Commands: ``check`` (run a policy, exit code for CI; ``--replay`` re-runs a property rule's
counterexample), ``report`` (re-render a saved JSON report in another format, without data,
models or heavy imports), ``validate`` (check policy files without touching data; imports
neither numpy nor pandas; ``--show-merged`` prints a policy with its ``extends`` resolved),
``verify`` (a policy's unit tests), ``list-rules``, ``list-packs``, ``explain KIND`` or
``explain builtin:PACK`` and ``schema`` (JSON Schema of the policy format, for editors).

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
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TextIO

from rulecheck.errors import InputError, PolicyError
from rulecheck.verdict import ExitCode, Report, Status

if TYPE_CHECKING:
    from rulecheck.policy import CsvOptions

__all__ = ["main"]

# The report formats (rulecheck.report.FORMATS, spelled out so that --help imports no renderer).
FORMATS = ("text", "json", "junit", "github", "markdown", "sarif", "html")
# Each rule kind's one-line summary (rulecheck.rules.KINDS[kind].summary), spelled out so that
# list-rules imports neither pydantic nor the rule models; a test keeps it equal to the registry.
KIND_SUMMARIES = {
    "group_metric": "a metric per group, bounded by max_difference, min_ratio, max_ratio, min or max",
    "demographic_parity": "selection rates per group: max_difference (default 0.1), optional min_ratio",
    "equal_opportunity": "true positive rates per group: max_difference (default 0.1), optional min_ratio",
    "equalized_odds": "worst of TPR and FPR differences per group: max_difference (default 0.1)",
    "disparate_impact": "selection-rate ratio per group (four-fifths rule): min_ratio (default 0.8)",
    "performance": "an overall metric (incl. roc_auc, log_loss) bounded by min and/or max",
    "loss_disparity": "mean loss per group (built-in or registered loss): max_difference, max_ratio, max",
    "attribution": "share of SHAP attribution of listed features: max_share, min_share, max_rank",
    "proxy": "inputs that reveal a protected attribute: max_association, max_auc, max_share",
    "loss_attribution": "share of listed features in explaining the worst group's loss: max_share",
    "counterfactual": "change only a protected attribute: max_flip_rate, max_score_change; search",
    "monotonic": "score monotonic in a numeric feature over a grid: max_violation_rate; search",
    "invariance": "predictions unchanged by declared noise or replacements: max_violation_rate; search",
}
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
    check.add_argument(
        "--model", help="model file (.skops, .onnx, LightGBM .txt, XGBoost .json, ...)"
    )
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
    _output_arguments(check)
    check.add_argument(
        "--csv-delimiter",
        help="CSV field delimiter, one character (';', '|', '\\t' for tab); overrides target.csv",
    )
    check.add_argument(
        "--trust-model", action="store_true", help="allow pickle/joblib and untrusted skops types"
    )
    check.add_argument("--strict", action="store_true", help="warnings fail the gate too (exit 1)")
    check.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the date the policy's waivers (exceptions) are judged against (default: today)",
    )
    check.add_argument(
        "--verbose", "-v", action="store_true", help="text output: show each rule's wall time"
    )
    check.add_argument(
        "--engine",
        choices=("auto", "memory", "stream", "dask"),
        default="auto",
        help=(
            "memory: read the data into memory; stream: read Parquet (a file, a directory or a "
            "glob) in batches; dask: compute on a Dask cluster; auto (default): stream for a "
            "directory, a glob, or a Parquet file when that gives the in-memory results exactly, "
            "else memory (docs/scale.md)"
        ),
    )
    check.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address for --engine dask (tcp://host:8786)",
    )
    check.add_argument(
        "--sample-rows",
        type=_positive_int,
        metavar="N",
        help=(
            "stream/dask: rows of the seeded sample for rules that need rows (default 100000; "
            "1000 when no rule does)"
        ),
    )
    check.add_argument(
        "--batch-rows",
        type=_positive_int,
        metavar="N",
        help="stream: rows per batch read from Parquet (default 262144)",
    )
    check.add_argument(
        "--replay",
        metavar="REPORT",
        help="re-run the counterexample a saved JSON report recorded for --rule (a property rule)",
    )
    check.add_argument(
        "--rule", metavar="ID", help="the property rule whose counterexample --replay runs"
    )

    report = sub.add_parser(
        "report",
        help="re-render a saved JSON report in another format (no data, no model)",
        description=(
            "Re-render a JSON report written by `rulecheck check -o report.json`. The exit code "
            "is the saved report's (0 pass, 1 a rule failed, 2 an error), so a later CI step that "
            "renders it still gates."
        ),
    )
    report.add_argument("saved", help="JSON report file written by rulecheck check")
    _output_arguments(report)

    validate = sub.add_parser("validate", help="validate policy files (no data, no model)")
    validate.add_argument("policies", nargs="+", help="policy YAML files")
    validate.add_argument(
        "--show-merged",
        action="store_true",
        help="print each policy as resolved (extends and params applied), each rule's origin in a comment",
    )

    sub.add_parser("list-rules", help="list the rule kinds")
    sub.add_parser("list-packs", help="list the built-in policy packs (extends: [builtin:NAME])")
    explain = sub.add_parser(
        "explain", help="documentation of a rule kind, or of a built-in pack (builtin:NAME)"
    )
    explain.add_argument("kind", help="a rule kind (list-rules) or builtin:NAME (list-packs)")
    verify = sub.add_parser(
        "verify",
        help="run a policy's unit tests (test files of tiny datasets and expected statuses)",
        description=(
            "Run policy test files: each case evaluates the policy on a tiny dataset and compares "
            "the named rules' statuses. Exit code 0 every case passed, 1 a case failed, 2 a "
            "malformed test file or policy."
        ),
    )
    verify.add_argument("tests", nargs="+", help="test YAML files (e.g. tests/packs/*.verify.yaml)")
    sub.add_parser("schema", help="print the JSON Schema of the policy format")
    return parser


def _output_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help=(
            "format of the report on standard output, or of a single --output file; auto "
            "(default): github under GitHub Actions, else text (an --output file's format "
            "follows its extension: .json, .xml junit, .sarif, .md markdown, .html, .txt)"
        ),
    )
    command.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="FILE",
        help="write the report to FILE (atomically); repeat for several formats at once",
    )
    command.add_argument("--no-color", action="store_true", help="never colour the text output")
    command.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing but errors (files are written)"
    )


def _version() -> str:
    from rulecheck import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rulecheck`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "report":
            return _rerender(args)
        if args.command == "validate":
            if args.show_merged:
                return _show_merged(args.policies)
            return _validate(args.policies)
        if args.command == "verify":
            from rulecheck.verify import run

            return run(args.tests, sys.stdout, sys.stderr)
        if args.command == "list-rules":
            return _list_rules()
        if args.command == "list-packs":
            return _list_packs()
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

    policy_path = Path(args.policy)
    if not policy_path.is_file():
        raise InputError(f"policy file {args.policy!r} does not exist")
    if args.replay or args.rule:
        return _replay(args, policy_path)
    outputs = _outputs(args.format, args.output)
    policy = load_policy(policy_path)
    if not args.quiet:
        print(*(w.warning() + "\n" for w in policy.warnings), sep="", file=sys.stderr, end="")
    for path, _ in outputs:
        _refuse_input_overwrite(path, policy_path, policy, args)
    positive: str | int | float | None = args.positive_label
    if isinstance(positive, str):
        positive = _number_or_text(positive)
    with _progress(quiet=args.quiet) as progress:
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
            today=args.today,
            csv=_csv_options(args.csv_delimiter),
            progress=progress,
            engine=args.engine,
            sample_rows=args.sample_rows,
            batch_rows=args.batch_rows,
            scheduler=args.scheduler,
        )
    _print_errors(report, sys.stderr)
    return _deliver(report, args, outputs)


def _replay(args: argparse.Namespace, policy_path: Path) -> int:
    """``check POLICY --replay REPORT --rule ID``: 1 when the counterexample still breaks the
    property, 0 when it no longer does."""
    from rulecheck.evaluation import replay
    from rulecheck.verdict import ReportFormatError

    if not (args.replay and args.rule):
        raise InputError("--replay REPORT and --rule ID go together")
    try:
        saved = Report.from_json(Path(args.replay).read_text(encoding="utf-8"))
    except ReportFormatError as exc:
        raise InputError(f"{args.replay}: {exc}") from None
    result = replay(
        policy_path,
        saved,
        args.rule,
        data=args.data,
        model=args.model,
        trust_model=args.trust_model,
        csv=_csv_options(args.csv_delimiter),
    )
    shown = result.example
    print(f"{args.rule}: replaying {shown.describe()}")
    print("row: " + ", ".join(f"{k}={v}" for k, v in shown.row))
    if result.now is None:
        print(f"{args.rule}: the property holds for this row now (exit code 0)")
        return int(ExitCode.OK)
    print(f"{args.rule}: still breaks: {result.now.describe()} (exit code 1)")
    return int(ExitCode.VIOLATIONS)


def _rerender(args: argparse.Namespace) -> int:
    """``rulecheck report SAVED.json``: render a saved report; its recorded exit code."""
    from rulecheck.verdict import ReportFormatError

    saved = Path(args.saved)
    outputs = _outputs(args.format, args.output)
    for path, _ in outputs:
        if path.resolve() == saved.resolve():
            raise InputError(f"refusing to write the report over an input file: {path}")
    try:
        report = Report.from_json(saved.read_text(encoding="utf-8"))
    except ReportFormatError as exc:
        raise InputError(f"{saved}: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{saved}: not a rulecheck JSON report (not UTF-8 text)") from None
    return _deliver(report, args, outputs)


def _deliver(report: Report, args: argparse.Namespace, outputs: list[tuple[Path, str]]) -> int:
    """Write every output file, then the report on standard output; the report's exit code, or
    2 when an output could not be written (each failure names its file)."""
    from rulecheck.report import renderer

    failed = False
    rendered: dict[str, str] = {}
    for path, name in outputs:
        try:
            if name not in rendered:
                rendered[name] = renderer(name)(report)
            _write_atomic(path, rendered[name])
        except InputError as exc:  # e.g. html without matplotlib
            print(f"rulecheck: error: {path}: {exc}", file=sys.stderr)
            failed = True
        except OSError as exc:
            print(f"rulecheck: error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            failed = True
    stdout_format = _stdout_format(args.format, bool(outputs))
    if not args.quiet:
        if stdout_format == "text":
            from rulecheck.report.text import render as render_text

            color = not args.no_color and "NO_COLOR" not in os.environ and _interactive()
            verbose = bool(getattr(args, "verbose", False))
            sys.stdout.write(render_text(report, color=color, verbose=verbose))
        else:
            sys.stdout.write(rendered.get(stdout_format) or renderer(stdout_format)(report))
        for path, _ in outputs:
            print(f"report written to {path}")
    if stdout_format == "github" or (args.format == "auto" and _under_github()):
        _job_summary(report)
    if failed:
        return int(ExitCode.USAGE_ERROR)
    return int(report.exit_code())  # the report records the gate: every output and code agree


def _outputs(given: str, outputs: list[str] | None) -> list[tuple[Path, str]]:
    """Each --output file and its format: the extension's (.json, .xml, .sarif, .md, .html,
    .txt; text for any other), or --format for a single file. A --format that contradicts a
    single file's known extension (``--format text -o r.json``) is refused, and so is the same
    file twice."""
    from rulecheck.report import FORMAT_BY_SUFFIX

    files = [Path(o) for o in outputs or []]
    seen: set[Path] = set()
    result: list[tuple[Path, str]] = []
    for path in files:
        if path.resolve() in seen:
            raise InputError(f"output file {str(path)!r} is given twice")
        seen.add(path.resolve())
        suffix = path.suffix.lower()
        implied = FORMAT_BY_SUFFIX.get(suffix)
        if given != "auto" and len(files) == 1:
            if implied is not None and implied != given:
                raise InputError(
                    FORMAT_MISMATCH.format(
                        format=given, output=str(path), suffix=suffix, implied=implied
                    )
                )
            result.append((path, given))
        else:
            result.append((path, implied or "text"))
    return result


def _stdout_format(given: str, has_outputs: bool) -> str:
    """Standard output: --format without --output files, else the text report; auto is
    github under GitHub Actions and text anywhere else."""
    if given != "auto" and not has_outputs:
        return given
    return "github" if _under_github() else "text"


def _under_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _under_ci() -> bool:
    """Any CI system: they set CI (GitHub, GitLab, Jenkins' plugins, CircleCI, Travis ...)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _interactive() -> bool:
    return sys.stdout.isatty() and not _under_ci()


def _job_summary(report: Report) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions set it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from rulecheck.report import renderer

    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(renderer("markdown")(report) + "\n")
    except OSError as exc:
        print(f"rulecheck: warning: cannot write the job summary {target}: {exc}", file=sys.stderr)


class _NoProgress:
    def __call__(self, step: str, done: int, total: int) -> None:
        return None

    def close(self) -> None:
        return None


class _Bar:
    """A progress bar on standard error: one tick per rule, the current step as its label."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=0, file=sys.stderr, leave=False, unit="rule", dynamic_ncols=True)

    def __call__(self, step: str, done: int, total: int) -> None:
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = done
        self._bar.set_description_str(step, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class _progress:
    """A progress callback for ``evaluate``: a bar on standard error when it is a terminal and
    no CI system runs us and --quiet is not given; otherwise nothing."""

    def __init__(self, quiet: bool) -> None:
        wanted = not quiet and sys.stderr.isatty() and not _under_ci()
        self._impl: _Bar | _NoProgress = _NoProgress()
        if wanted:
            try:
                self._impl = _Bar()
            except ImportError:  # tqdm comes with shap; without it, no bar
                self._impl = _NoProgress()

    def __enter__(self) -> _Bar | _NoProgress:
        return self._impl

    def __exit__(self, *exc: object) -> None:
        self._impl.close()


def _csv_options(delimiter: str | None) -> CsvOptions | None:
    from rulecheck.policy import CsvOptions

    if delimiter is None:
        return None
    # A shell makes typing a real tab awkward: accept the escape and the word.
    delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    if len(delimiter) != 1:
        raise InputError(f"--csv-delimiter must be one character, got {delimiter!r}")
    return CsvOptions(delimiter=delimiter)


def _positive_int(value: str) -> int:
    """An argparse type: a whole number >= 1 (argparse reports anything else as a usage error)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


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
    width = max(len(kind) for kind in KIND_SUMMARIES)
    for kind, summary in KIND_SUMMARIES.items():
        print(f"{kind.ljust(width)}  {summary}")
    return ExitCode.OK


def _list_packs() -> int:
    """Each built-in pack with its description and parameters (type, default or required)."""
    import yaml

    from rulecheck._extends import pack_names, pack_path

    for name in pack_names():
        path = pack_path(name)
        assert path is not None
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        description = " ".join(str(data.get("description", "")).split())
        print(f"builtin:{name}  {description}")
        for param, spec in (data.get("params") or {}).items():
            default = f"default {spec['default']!r}" if "default" in spec else "required"
            print(
                f"    params.{param} ({spec.get('type')}, {default}): {spec.get('description', '')}"
            )
    return ExitCode.OK


def _show_merged(paths: Sequence[str]) -> int:
    """``validate --show-merged``: each policy after extends and params, as YAML that loads on
    its own: each rule under a ``# from FILE:LINE`` comment, then the other top-level keys (the
    extended files and the effective params as comments, since they are already applied)."""
    import yaml

    from rulecheck.policy import load_policy

    for name in paths:
        policy = load_policy(Path(name))
        data = policy.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        rules = data.pop("rules")
        extends = data.pop("extends", None)
        params = data.pop("params", None)
        print(f"# {name}, resolved")
        if extends:
            print(f"# extends (applied): {', '.join(extends)}")
        if params:
            print(f"# params (applied): {json.dumps(params)}")
        print("rules:")
        for rule, body in zip(policy.rules, rules, strict=True):
            if rule.source is not None:
                print(f"  # from {rule.source.file}:{rule.source.line}")
            first = {k: body[k] for k in ("id", "kind") if k in body}
            text = yaml.safe_dump([{**first, **body}], sort_keys=False, allow_unicode=True)
            print("".join(f"  {line}\n" for line in text.splitlines()), end="")
        if data:
            print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return ExitCode.OK


def _explain_pack(name: str) -> int:
    """``explain builtin:NAME``: the pack's header comments, description, params and rules."""
    import yaml

    from rulecheck._extends import pack_names, pack_path

    path = pack_path(name)
    if path is None:
        packs = ", ".join(f"builtin:{n}" for n in pack_names())
        print(f"rulecheck: error: no built-in pack {name!r}; packs: {packs}", file=sys.stderr)
        return ExitCode.USAGE_ERROR
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#")[1:] if line.startswith("# ") else line.lstrip("#"))
    data = yaml.safe_load(text)
    print(f"builtin:{name}")
    if header:
        print("\n".join(header))
    print("\nDescription\n" + " ".join(str(data.get("description", "")).split()))
    print("\nParams")
    for param, spec in (data.get("params") or {}).items():
        default = f"default {spec['default']!r}" if "default" in spec else "required"
        print(f"- {param} ({spec.get('type')}, {default}): {spec.get('description', '')}")
    start = next((i for i, line in enumerate(lines) if line.startswith("rules:")), 0)
    print(f"\nRules ({path.name})")
    print("\n".join(lines[start:]))
    return ExitCode.OK


def _explain(kind: str) -> int:
    import importlib

    from rulecheck.rules import KINDS

    if kind.startswith("builtin:"):
        return _explain_pack(kind[len("builtin:") :])
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
