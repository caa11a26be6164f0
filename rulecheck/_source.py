"""YAML with positions: parse a policy into plain data plus a map from paths to source spans.

Parsing is safe (``yaml.SafeLoader`` only builds plain scalars, lists and dicts), duplicate keys
are rejected and every node keeps its 1-based line and column, so that a validation error on
``rules[1].max_difference`` can point at the exact place in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["Path", "SourceMap", "Span", "YamlSyntaxError", "parse_yaml"]

Path = tuple[str | int, ...]


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
        for number in range(first, last + 1):
            out.append(f"  {number:>{width}} | {lines[number - 1]}")
            if number == self.line:
                out.append(f"  {' ' * width} | {' ' * (self.column - 1)}^")
        return "\n".join(out)


@dataclass(frozen=True)
class SourceMap:
    """Spans of every value and every mapping key, keyed by their path from the document root."""

    file: str
    values: Mapping[Path, Span] = field(default_factory=dict)
    keys: Mapping[Path, Span] = field(default_factory=dict)

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
    """The text is not YAML we accept: syntax error, duplicate key, null value or non-string key."""

    def __init__(self, message: str, span: Span, kind: str) -> None:
        self.message = message
        self.span = span
        self.kind = kind
        super().__init__(f"{span.where()}: {message}")


# libyaml's parser when available (about 10x faster); both keep node positions.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _span(file: str, node: yaml.Node) -> Span:
    return Span(file, node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python data and its :class:`SourceMap`."""
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
    values: dict[Path, Span] = {}
    keys: dict[Path, Span] = {}
    if root is None:
        return None, SourceMap(file, values, keys)

    def build(node: yaml.Node, path: Path) -> Any:
        values[path] = _span(file, node)
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    # Policies name everything with strings; `1: x` or `yes: x` is a mistake.
                    raise YamlSyntaxError(
                        f"mapping keys must be strings, got {key!r} (YAML reads yes/no/on/off "
                        "as booleans and digits as numbers: quote the key)",
                        _span(file, key_node),
                        "non_string_key",
                    )
                if key in result:
                    first = keys[(*path, key)]
                    raise YamlSyntaxError(
                        f"duplicate key {key!r} (first defined at line {first.line})",
                        _span(file, key_node),
                        "duplicate_key",
                    )
                keys[(*path, key)] = _span(file, key_node)
                result[key] = build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        value = loader.construct_object(node, deep=True)
        if value is None:
            raise YamlSyntaxError(
                "empty value (null): give a value or remove the key",
                _span(file, node),
                "null_value",
            )
        return value

    return build(root, ()), SourceMap(file, values, keys)
