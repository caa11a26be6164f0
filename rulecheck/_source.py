"""YAML with positions: parse a policy into plain data plus a map from paths to source spans.

Parsing is safe (``yaml.SafeLoader`` only builds plain scalars, lists and dicts), duplicate keys
are rejected and every node keeps its 1-based line and column, so that a validation error on
``rules[1].max_difference`` can point at the exact place in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

__all__ = ["Path", "SourceMap", "Span", "YamlSyntaxError", "parse_yaml"]

Path = tuple[str | int, ...]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Span:
    """A position in a source file: 1-based line and column."""

    file: str
    line: int
    column: int

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def snippet(self, lines: list[str], context: int = 1) -> str:
        """A numbered excerpt around this position with a caret under the column."""
        first = max(1, self.line - context)
        last = min(len(lines), self.line + context)
        width = len(str(last))
        out: list[str] = []
        # Long lines (a 10 MB description) are cut to a window around the column.
        start = max(0, self.column - 1 - _SNIPPET_WIDTH // 2)
        for number in range(first, last + 1):
            line = lines[number - 1]
            shift = 0
            if len(line) > _SNIPPET_WIDTH:
                line, shift = line[start : start + _SNIPPET_WIDTH] + "...", start
            out.append(f"  {number:>{width}} | {line}")
            if number == self.line:
                out.append(f"  {' ' * width} | {' ' * (self.column - 1 - shift)}^")
        return "\n".join(out)


_SNIPPET_WIDTH = 120


@dataclass(frozen=True)
class SourceMap:
    """Spans of every value and every mapping key, keyed by their path from the document root."""

    file: str
    values: Mapping[Path, Span] = field(default_factory=dict)
    keys: Mapping[Path, Span] = field(default_factory=dict)
    # The source text of each unquoted scalar that YAML read as a bool or number (e.g. "yes",
    # "01"), so that validation can warn where the user probably meant a string.
    typed: Mapping[Path, str] = field(default_factory=dict)

    def value(self, path: Path) -> Span:
        """Span of the value at ``path``, or of its nearest ancestor that has one."""
        return self._closest(self.values, path)

    def key(self, path: Path) -> Span:
        """Span of the key that introduces ``path`` (falls back to the value's span)."""
        if path in self.keys:
            return self.keys[path]
        return self.value(path)

    def _closest(self, table: Mapping[Path, Span], path: Path) -> Span:
        for end in range(len(path), -1, -1):
            span = table.get(path[:end])
            if span is not None:
                return span
        return Span(self.file, 1, 1)


class YamlSyntaxError(Exception):
    """The text is not YAML we accept: syntax error, duplicate key, null value, non-string key,
    an unsupported tag, a recursive or exploding alias, or nesting that is too deep."""

    def __init__(self, message: str, span: Span, kind: str) -> None:
        self.message = message
        self.span = span
        self.kind = kind
        super().__init__(f"{span.where()}: {message}")


# libyaml's parser when available (about 10x faster); both keep node positions.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _span(file: str, node: yaml.Node) -> Span:
    return Span(file, node.start_mark.line + 1, node.start_mark.column + 1)


# Tags a policy may use. Everything else (``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``,
# ``!!python/...``, ``!custom``) is refused with its position rather than built into a value that
# pydantic would coerce in surprising ways (bytes into a str field, a set into a list).
_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"

# A policy is a few levels deep; anything much deeper is a mistake or an attack, and building it
# recursively would hit Python's recursion limit.
MAX_DEPTH = 200
# Nodes that aliases may add beyond the document's own nodes: a few hundred bytes of anchors
# referring to each other ("billion laughs") would otherwise expand into billions of values.
MAX_ALIAS_NODES = 100_000


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python data and its :class:`SourceMap`.

    Scalars become str, int, float or bool. YAML timestamps (``expires: 2026-11-30``) stay the
    text they were written as (a date that does not exist, like ``2026-13-45``, is then simply a
    string for validation to judge); other tags, recursive or exploding aliases and nesting
    deeper than :data:`MAX_DEPTH` are refused with a :class:`YamlSyntaxError` at their position.
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or "invalid YAML"
        raise YamlSyntaxError(
            f"YAML syntax error: {problem}", Span(file, line, column), "yaml_syntax"
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise YamlSyntaxError(f"YAML error: {exc}", Span(file, 1, 1), "yaml_syntax") from None
    finally:
        loader.dispose()
    if root is None:
        return None, SourceMap(file)
    builder = _Builder(file, loader)
    data = builder.build(root, (), 0, False)
    return data, SourceMap(file, builder.values, builder.keys, builder.typed)


class _Builder:
    """Turns composed YAML nodes into plain data, recording spans (one per path)."""

    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[Path, Span] = {}
        self.keys: dict[Path, Span] = {}
        self.typed: dict[Path, str] = {}
        self.built: set[int] = set()
        self.active: set[int] = set()
        self.alias_nodes = 0
        self.alias_span = Span(file, 1, 1)  # where the alias being expanded is used

    def error(self, node: yaml.Node, message: str, kind: str) -> YamlSyntaxError:
        return YamlSyntaxError(message, _span(self.file, node), kind)

    def build(self, node: yaml.Node, path: Path, depth: int, aliased: bool) -> Any:
        if depth > MAX_DEPTH:
            raise self.error(node, f"nested more than {MAX_DEPTH} levels deep", "too_deep")
        if id(node) in self.active:
            raise self.error(node, "recursive YAML alias: a node contains itself", "yaml_alias")
        # A node built before is reached again through an alias: count what it expands into.
        if not aliased and id(node) in self.built:
            aliased = True
            self.alias_span = self.keys.get(path) or self.values.get(path) or _span(self.file, node)
        if aliased:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise YamlSyntaxError(
                    f"the policy expands YAML aliases into more than {MAX_ALIAS_NODES:,} nodes; "
                    "use fewer or smaller aliases",
                    self.alias_span,
                    "yaml_alias",
                )
        self.built.add(id(node))
        self.values[path] = _span(self.file, node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                if node.tag != _MAP:
                    raise self.unsupported(node)
                return self.mapping(node, path, depth, aliased)
            if node.tag != _SEQ:
                raise self.unsupported(node)
            return [
                self.build(item, (*path, index), depth + 1, aliased)
                for index, item in enumerate(node.value)
            ]
        finally:
            self.active.discard(id(node))

    def unsupported(self, node: yaml.Node) -> YamlSyntaxError:
        return self.error(
            node,
            f"YAML tag {_short_tag(node.tag)} is not supported in a policy: remove the tag "
            "(policies hold only strings, numbers, booleans, lists and mappings)",
            "yaml_tag",
        )

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int, aliased: bool) -> Any:
        result: dict[str, Any] = {}
        merge: tuple[yaml.Node, yaml.Node] | None = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                if merge is not None:
                    first_line = merge[0].start_mark.line + 1
                    raise self.error(
                        key_node,
                        f"duplicate merge key '<<' (first at line {first_line}): write one "
                        "<< with a list of aliases, <<: [*a, *b]",
                        "duplicate_key",
                    )
                merge = (key_node, value_node)
                continue
            key = self.key(key_node)
            if key in result:
                first = self.keys[(*path, key)]
                raise self.error(
                    key_node,
                    f"duplicate key {key!r} (first defined at line {first.line})",
                    "duplicate_key",
                )
            self.keys[(*path, key)] = _span(self.file, key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1, aliased)
        if merge is None:
            return result
        merged = self.merge(*merge, path, depth, aliased, set(result))
        return {**merged, **result}

    def merge(
        self,
        key_node: yaml.Node,
        value_node: yaml.Node,
        path: Path,
        depth: int,
        aliased: bool,
        explicit: set[str],
    ) -> dict[str, Any]:
        """The keys a YAML merge key (``<<: *defaults`` or ``<<: [*a, *b]``) adds to a mapping.

        Keys written in the mapping itself win wherever they stand, then earlier merged mappings
        over later ones (https://yaml.org/type/merge.html). Each merged key keeps the spans of
        the place it is written (the anchored mapping), so an error in it points there.
        """
        if isinstance(value_node, yaml.SequenceNode):
            sources = list(value_node.value)
        else:
            sources = [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                # A bad item of a list is shown where it stands; a bad value at the << itself.
                where = source if source is not value_node else key_node
                raise self.error(
                    where,
                    "<< must be a mapping or a list of mappings (an alias such as *defaults), "
                    f"got {_describe(source)}",
                    "yaml_merge",
                )
        merged: dict[str, Any] = {}
        for source in sources:
            # Build the source into scratch tables, then keep only the spans of the keys it
            # contributes: an overridden key must keep the spans of its override.
            saved = self.values, self.keys, self.typed
            self.values, self.keys, self.typed = {}, {}, {}
            entry = self.alias_span
            try:
                if not aliased and id(source) in self.built:
                    # The merge expands an alias: count its nodes, blamed on the << line.
                    self.alias_span = _span(self.file, key_node)
                    part = self.build(source, path, depth + 1, True)
                else:
                    part = self.build(source, path, depth + 1, aliased)
                scratch = self.values, self.keys, self.typed
            finally:
                self.values, self.keys, self.typed = saved
                self.alias_span = entry
            taken = {key for key in part if key not in explicit and key not in merged}
            for key in part:
                if key in taken:
                    merged[key] = part[key]
            _keep(scratch[0], self.values, len(path), taken)
            _keep(scratch[1], self.keys, len(path), taken)
            _keep(scratch[2], self.typed, len(path), taken)
        return merged

    def key(self, node: yaml.Node) -> str:
        key = self.scalar(node, None) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            shown = repr(key) if key is not None else "a " + type(node).__name__.lower()[:-4]
            # Policies name everything with strings; `1: x` or `yes: x` is a mistake.
            raise self.error(
                node,
                f"mapping keys must be strings, got {shown} (YAML reads yes/no/on/off "
                "as booleans and digits as numbers: quote the key)",
                "non_string_key",
            )
        return key

    def scalar(self, node: yaml.ScalarNode, path: Path | None) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.unsupported(node)
        if node.tag in (_TIMESTAMP, _STR):
            value: Any = node.value  # timestamps are kept as written; see parse_yaml
        else:
            try:
                value = self.loader.construct_object(node, deep=True)
            except (ValueError, KeyError, IndexError, TypeError, OverflowError, yaml.YAMLError):
                # e.g. `!!int abc`, an empty `!!int`, `!!bool maybe`, or an integer of more than
                # 4300 digits.
                raise self.error(
                    node,
                    f"cannot read {_short_tag(node.tag)} value {_clip(node.value)}: quote it "
                    "or write a plain value",
                    "yaml_value",
                ) from None
        if value is None:
            raise self.error(
                node, "empty value (null): give a value or remove the key", "null_value"
            )
        if (
            path is not None and not isinstance(value, str) and not node.style
        ):  # plain ("" in libyaml)
            self.typed[path] = node.value  # the text a bool or number was written as
        return value


def _keep(scratch: dict[Path, _T], table: dict[Path, _T], size: int, taken: set[str]) -> None:
    """Copy the entries of ``scratch`` below the keys ``taken`` at depth ``size`` into ``table``."""
    for sub, value in scratch.items():
        if len(sub) > size and sub[size] in taken:
            table[sub] = value


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f"the value {_clip(node.value)}"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _clip(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
