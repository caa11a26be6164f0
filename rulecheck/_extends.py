"""Policy composition: ``extends`` and ``params``, resolved before validation.

A policy may extend others: ``extends: [builtin:four-fifths, ../org/base.yaml]``. The parents
are loaded (recursively; paths relative to the extending file, ``builtin:NAME`` from the packs
shipped with rulecheck: ``policies/`` in the repository, ``rulecheck/packs/`` in the wheel) and merged in order, then the policy itself on top:

- rules: the parents' rules in order, then the policy's; a rule whose ``id`` is inherited is a
  policy error unless it says ``override: true``, which replaces the inherited rule in place
  (``override: true`` on a rule that overrides nothing is an error too);
- other top-level keys (``target``, ``attribution``, ``uncertainty``, ``time_budget_s`` ...): a
  later file's value replaces an earlier one's; ``target`` and ``feature_groups`` are merged
  key by key.

Parameters: a file declares ``params: {race_column: {type: str, default: race}}`` (a mapping
with ``type``, and ``default`` unless the parameter is required) and uses ``${params.NAME}`` in
string values; an extending policy sets ``params: {race_column: ethnicity}``. A string that is
exactly one placeholder takes the parameter's typed value; a placeholder inside a longer string
is replaced by its text. An unknown, unset or mistyped parameter is a policy error at its
position. No expressions, no code: only names are substituted.

Positions survive the merge: every value keeps the span of the file and line that set it, so a
validation error in an inherited rule points at the pack's line, and each rule remembers its
origin file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from rulecheck._source import Path, SourceMap, Span, YamlSyntaxError, parse_yaml
from rulecheck.errors import PolicyError, PolicyProblem

__all__ = ["PACKS_DIR", "Composed", "compose", "pack_names", "pack_path"]


def _packs_dir() -> FsPath:
    """Where the built-in packs are: ``rulecheck/packs/`` in an installed wheel (the build
    copies ``policies/`` there), the repository's ``policies/`` in a source checkout."""
    installed = FsPath(__file__).parent / "packs"
    return installed if installed.is_dir() else FsPath(__file__).parents[1] / "policies"


PACKS_DIR = _packs_dir()
BUILTIN = "builtin:"
_PLACEHOLDER = re.compile(r"\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}")
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
}


@dataclass
class Composed:
    """A policy's data with its parents merged in, the spans of every value (each in the file
    that set it), the text of every file read, and where each rule came from."""

    data: dict[str, Any]
    spans: SourceMap
    texts: dict[str, str]
    origins: list[str] = field(default_factory=list)  # per rule: the file that defined it
    extends: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # effective parameter values
    # Every parameter declared here or inherited: name -> (type, default, has default, span).
    declared: dict[str, tuple[str, Any, bool, Span]] = field(default_factory=dict)


def pack_names() -> list[str]:
    """The built-in packs: ``builtin:<name>`` for each ``policies/<name>.yaml``."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))


def pack_path(name: str) -> FsPath | None:
    path = PACKS_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def compose(data: dict[str, Any], spans: SourceMap, file: str, text: str) -> Composed:
    """Resolve ``extends`` and ``params`` of a parsed policy; PolicyError listing problems."""
    problems: list[PolicyProblem] = []
    composed = _compose(data, spans, file, text, (_resolved(file),), problems, top=True)
    problems = list(dict.fromkeys(problems))  # inherited placeholders are looked at twice
    if problems:
        raise PolicyError(problems, text, sources=composed.texts)
    return composed


@dataclass
class _Params:
    declared: dict[str, tuple[str, Any, bool, Span]] = field(default_factory=dict)
    # name -> (type, default, has default, span of the declaration)


def _compose(
    data: dict[str, Any],
    spans: SourceMap,
    file: str,
    text: str,
    chain: tuple[str, ...],
    problems: list[PolicyProblem],
    *,
    top: bool = False,
) -> Composed:
    """Merge ``data``'s parents into it. Placeholders are substituted only at the ``top``
    (the policy being loaded), where every parameter's value is known; a parent passes its own
    settings on as new defaults."""
    texts = {file: text}
    own_params, settings = _split_params(data, spans, problems)
    entries = data.get("extends")
    if entries is None:
        entries = []
    elif isinstance(entries, str):
        entries = [entries]
    elif not isinstance(entries, list):
        problems.append(
            _at(
                spans.value(("extends",)),
                "extends",
                "extends must be a list of policy files or builtin:NAME packs",
                "extends_type",
            )
        )
        entries = []
    parents: list[Composed] = []
    for index, entry in enumerate(entries):
        where = spans.value(
            ("extends", index) if isinstance(data.get("extends"), list) else ("extends",)
        )
        parent = _parent(entry, where, file, chain, problems)
        if parent is not None:
            parents.append(parent)
            texts.update(parent.texts)
    # Merge the parents in order, then this file.
    merged: dict[str, Any] = {}
    values: dict[Path, Span] = {}
    keys: dict[Path, Span] = {}
    rules: list[Any] = []
    origins: list[str] = []
    declared: dict[str, tuple[str, Any, bool, Span]] = {}
    for parent in parents:
        _merge_file(
            parent.data,
            parent.spans,
            merged,
            values,
            keys,
            rules,
            origins,
            parent.origins,
            problems,
            own=False,
        )
        declared.update(parent_declared(parent))
    declared.update(own_params.declared)
    for name, (_value, span) in settings.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(
                _at(
                    span,
                    f"params.{name}",
                    f"unknown parameter {name!r}; the extended policies declare: {known}",
                    "unknown_param",
                )
            )
    effective: dict[str, Any] = {}
    for name, (kind, default, has_default, span) in declared.items():
        if name in settings:
            value, where = settings[name]
            if not _has_type(value, kind):
                problems.append(
                    _at(
                        where,
                        f"params.{name}",
                        f"parameter {name!r} must be a {kind}, got {value!r}",
                        "param_type",
                    )
                )
            effective[name] = value
        elif not top:
            continue  # the extending policy may still set it
        elif has_default:
            effective[name] = default
        else:
            problems.append(
                _at(
                    span,
                    f"params.{name}",
                    f"parameter {name!r} has no default: set it in the extending policy's params",
                    "missing_param",
                )
            )
    if top:
        # Inherited content first, so that this file can override a rule whose id the pack
        # builds from a parameter (four-fifths-${params.group_column}).
        merged = _substitute(merged, (), values, effective, problems)
        rules = _substitute(rules, ("rules",), values, effective, problems)
    own_origins = (
        [file] * len(data.get("rules") or []) if isinstance(data.get("rules"), list) else []
    )
    _merge_file(data, spans, merged, values, keys, rules, origins, own_origins, problems, own=True)
    merged["rules"] = rules
    merged.pop("params", None)
    merged.pop("extends", None)
    substituted = _substitute(merged, (), values, effective, problems) if top else merged
    if top:
        # What validation and reports see: the files extended, the parameters' effective values.
        substituted["extends"] = [str(e) for e in entries] or None
        substituted["params"] = dict(effective) or None
    result_spans = SourceMap(file, values, keys, dict(spans.typed))
    return Composed(
        data=substituted,
        spans=result_spans,
        texts=texts,
        origins=origins,
        extends=tuple(str(e) for e in entries),
        params=effective,
        declared=declared,
    )


def parent_declared(parent: Composed) -> dict[str, tuple[str, Any, bool, Span]]:
    """A parent's parameters, with the values it set itself as their new defaults."""
    declared = dict(parent.declared)
    for name, value in parent.params.items():
        kind, _, _, span = declared[name]
        declared[name] = (kind, value, True, span)
    return declared


def _split_params(
    data: dict[str, Any], spans: SourceMap, problems: list[PolicyProblem]
) -> tuple[_Params, dict[str, tuple[Any, Span]]]:
    """This file's declarations (mappings with a ``type``) and settings (plain values)."""
    own = _Params()
    settings: dict[str, tuple[Any, Span]] = {}
    params = data.get("params")
    if params is None:
        return own, settings
    if not isinstance(params, dict):
        problems.append(
            _at(
                spans.value(("params",)),
                "params",
                "params must be a mapping of names to values or declarations",
                "params_type",
            )
        )
        return own, settings
    for name, value in params.items():
        span = spans.value(("params", name))
        if isinstance(value, dict) and "type" in value:
            kind = value.get("type")
            if kind not in _TYPES:
                problems.append(
                    _at(
                        spans.value(("params", name, "type")),
                        f"params.{name}.type",
                        f"type must be one of {', '.join(_TYPES)}",
                        "param_decl",
                    )
                )
                continue
            unknown = sorted(set(value) - {"type", "default", "description"})
            if unknown:
                problems.append(
                    _at(
                        span,
                        f"params.{name}",
                        f"a parameter declaration takes type, default and description, not {', '.join(unknown)}",
                        "param_decl",
                    )
                )
            has_default = "default" in value
            if has_default and not _has_type(value["default"], str(kind)):
                problems.append(
                    _at(
                        spans.value(("params", name, "default")),
                        f"params.{name}.default",
                        f"default must be a {kind}",
                        "param_type",
                    )
                )
            own.declared[str(name)] = (str(kind), value.get("default"), has_default, span)
        else:
            settings[str(name)] = (value, span)
    return own, settings


def _has_type(value: Any, kind: str) -> bool:
    if kind in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def _parent(
    entry: Any,
    where: Span,
    file: str,
    chain: tuple[str, ...],
    problems: list[PolicyProblem],
) -> Composed | None:
    if not isinstance(entry, str) or not entry:
        problems.append(
            _at(
                where,
                "extends",
                "each extends entry is a file path or builtin:NAME",
                "extends_type",
            )
        )
        return None
    if entry.startswith(BUILTIN):
        name = entry[len(BUILTIN) :]
        path = pack_path(name)
        if path is None:
            packs = ", ".join(f"builtin:{n}" for n in pack_names())
            problems.append(
                _at(where, "extends", f"no built-in pack {name!r}; packs: {packs}", "unknown_pack")
            )
            return None
    else:
        base = FsPath(file).parent if file != "<string>" else FsPath.cwd()
        path = base / entry
        if not path.is_file():
            problems.append(
                _at(
                    where,
                    "extends",
                    f"extended policy {entry!r} not found (looked for {path})",
                    "extends_missing",
                )
            )
            return None
    key = str(path.resolve())
    if key in chain:
        cycle = " -> ".join([*(FsPath(c).name for c in chain), FsPath(key).name])
        problems.append(_at(where, "extends", f"extends cycle: {cycle}", "extends_cycle"))
        return None
    shown = entry if entry.startswith(BUILTIN) else str(path)
    text = path.read_text(encoding="utf-8")
    try:
        data, spans = parse_yaml(text, shown)
    except YamlSyntaxError as exc:
        problems.append(PolicyProblem(exc.span, "", exc.message, exc.kind))
        return None
    if not isinstance(data, dict):
        problems.append(
            _at(spans.value(()), "", "an extended policy must be a mapping", "not_mapping")
        )
        return None
    return _compose(data, spans, shown, text, (*chain, key), problems)


def _resolved(file: str) -> str:
    return str(FsPath(file).resolve()) if file != "<string>" else "<string>"


def _merge_file(
    data: Mapping[str, Any],
    spans: SourceMap,
    merged: dict[str, Any],
    values: dict[Path, Span],
    keys: dict[Path, Span],
    rules: list[Any],
    origins: list[str],
    file_origins: list[str],
    problems: list[PolicyProblem],
    *,
    own: bool,
) -> None:
    """Merge one file's top-level keys and rules into ``merged``, moving its spans along."""
    for key, value in data.items():
        if key == "rules":
            continue
        if (
            key in ("target", "feature_groups")
            and isinstance(value, dict)
            and isinstance(merged.get(key), dict)
        ):
            merged[key] = {**merged[key], **value}
        else:
            _drop(values, keys, (key,))
            merged[key] = value
        _copy(spans, values, keys, (key,), (key,))
    file_rules = data.get("rules")
    if not isinstance(file_rules, list):
        if own and file_rules is not None:
            merged["rules"] = file_rules  # let validation report it
        return
    index_of = {r.get("id"): i for i, r in enumerate(rules) if isinstance(r, dict)}
    for position, rule in enumerate(file_rules):
        origin = file_origins[position] if position < len(file_origins) else spans.file
        if not isinstance(rule, dict):
            target = len(rules)
            rules.append(rule)
            origins.append(origin)
            _copy(spans, values, keys, ("rules", position), ("rules", target))
            continue
        rule = dict(rule)
        overrides = rule.pop("override", False)
        rule_id = rule.get("id")
        if rule_id in index_of:
            target = index_of[rule_id]
            if overrides is not True:
                inherited = values.get(("rules", target), spans.value(("rules", position)))
                problems.append(
                    _at(
                        spans.value(("rules", position, "id")),
                        f"rules[{position}] (id: {rule_id})",
                        f"rule id {rule_id!r} is inherited from {inherited.file}:{inherited.line}; "
                        "set override: true to replace it",
                        "inherited_id",
                    )
                )
                continue
            _drop(values, keys, ("rules", target))
            rules[target] = rule
            origins[target] = origin
        else:
            if overrides is True:
                problems.append(
                    _at(
                        spans.value(("rules", position, "override")),
                        f"rules[{position}] (id: {rule_id})",
                        f"override: true, but no extended policy has a rule {rule_id!r}",
                        "overrides_nothing",
                    )
                )
            target = len(rules)
            rules.append(rule)
            origins.append(origin)
            index_of[rule_id] = target
        _copy(spans, values, keys, ("rules", position), ("rules", target))


def _copy(
    spans: SourceMap, values: dict[Path, Span], keys: dict[Path, Span], old: Path, new: Path
) -> None:
    size = len(old)
    for table, out in ((spans.values, values), (spans.keys, keys)):
        for path, span in table.items():
            if path[:size] == old:
                out[new + path[size:]] = span


def _drop(values: dict[Path, Span], keys: dict[Path, Span], prefix: Path) -> None:
    size = len(prefix)
    for table in (values, keys):
        for path in [p for p in table if p[:size] == prefix]:
            del table[path]


def _substitute(
    value: Any,
    path: Path,
    spans: dict[Path, Span],
    params: Mapping[str, Any],
    problems: list[PolicyProblem],
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), spans, params, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), spans, params, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    names = _PLACEHOLDER.findall(value)
    missing = [n for n in names if n not in params]
    if missing:
        span = spans.get(path) or next(iter(spans.values()))
        known = ", ".join(sorted(params)) or "none"
        problems.append(
            _at(
                span,
                ".".join(map(str, path)),
                f"unknown parameter {missing[0]!r} in {value!r}; declared: {known}",
                "unknown_param",
            )
        )
        return value
    whole = _PLACEHOLDER.fullmatch(value)
    if whole is not None:
        return params[whole.group(1)]
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), value)


def _at(span: Span, location: str, message: str, kind: str) -> PolicyProblem:
    return PolicyProblem(span, location, message, kind)
