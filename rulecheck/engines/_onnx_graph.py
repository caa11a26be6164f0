"""What an ONNX graph offers: its inputs and outputs, which output to read, and the facts that
onnxruntime does not expose, read from the file without the onnx package.

onnxruntime gives the inputs, outputs and custom metadata of a graph, but not its nodes: the
class labels of a scikit-learn classifier (ZipMap's ``classlabels_*``, or the classifier node's)
and the operator that produces each output (a Sigmoid or Softmax makes it a probability) live
in the nodes. The ``onnx`` package could parse them, but it is not needed to run a graph, so this
module reads the few protobuf fields it needs (``onnx/onnx.proto``: ModelProto.graph = 7,
GraphProto.node = 1, NodeProto.output = 2 / op_type = 4 / attribute = 5, AttributeProto.name = 1 /
ints = 8 / strings = 9) and skips everything else by length, weights included.

:func:`choose_output` applies the rules of ``target.model_output`` (``rulecheck.engines._onnx``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rulecheck.errors import InputError

__all__ = ["Choice", "GraphFacts", "Port", "choose_output", "ports", "read_graph"]

UNKNOWN_OUTPUT = (
    "model_output {name!r} is not an output of the ONNX model; its outputs are {outputs}"
)
AMBIGUOUS_OUTPUT = (
    "cannot tell which output of the ONNX model is the {what} (outputs: {outputs}); set "
    "target.model_output to the output's name"
)
FLOAT_TYPES = ("tensor(float)", "tensor(double)", "tensor(float16)")
LABEL_TYPES = ("tensor(int64)", "tensor(int32)", "tensor(string)", "tensor(bool)")
PROBABILITY_OPS = ("Sigmoid", "Softmax", "ZipMap")
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
# Attributes holding class labels: ZipMap's, then the ai.onnx.ml classifiers' (LinearClassifier,
# TreeEnsembleClassifier, SVMClassifier, ...).
_INT_LABELS = ("classlabels_int64s", "classlabels_ints")
_STRING_LABELS = ("classlabels_strings",)


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True, slots=True)
class GraphFacts:
    """``producers``: the op_type of the node writing each tensor name. ``classes``: class labels
    recorded by a ZipMap or classifier node (first found), or None."""

    producers: dict[str, str]
    classes: tuple[int | str, ...] | None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field of one message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _BYTES:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire == _FIXED64:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == _FIXED32:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _ints(wire: int, value: int | bytes) -> list[int]:
    if wire == _VARINT:
        assert isinstance(value, int)
        return [_signed(value)]
    assert isinstance(value, bytes)  # packed
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(_signed(item))
    return out


def _attribute(data: bytes) -> tuple[str, tuple[int | str, ...]]:
    name = ""
    values: list[int | str] = []
    for number, wire, value in _fields(data):
        if number == 1 and isinstance(value, bytes):
            name = value.decode()
        elif number == 8:
            values.extend(_ints(wire, value))
        elif number == 9 and isinstance(value, bytes):
            values.append(value.decode())
    return name, tuple(values)


def read_graph(model: bytes) -> GraphFacts:
    """The producers of the main graph's tensors and the class labels its nodes record."""
    producers: dict[str, str] = {}
    classes: tuple[int | str, ...] | None = None
    for number, _, graph in _fields(model):
        if number != 7 or not isinstance(graph, bytes):
            continue
        for g_number, _, node in _fields(graph):
            if g_number != 1 or not isinstance(node, bytes):
                continue
            op_type, outputs = "", []
            labels: tuple[int | str, ...] | None = None
            for n_number, _, value in _fields(node):
                if not isinstance(value, bytes):
                    continue
                if n_number == 2:
                    outputs.append(value.decode())
                elif n_number == 4:
                    op_type = value.decode()
                elif n_number == 5:
                    name, values = _attribute(value)
                    if name in _INT_LABELS + _STRING_LABELS and values:
                        labels = values
            for output in outputs:
                producers[output] = op_type
            if labels is not None and (classes is None or op_type == "ZipMap"):
                classes = labels
    return GraphFacts(producers, classes)


@dataclass(frozen=True, slots=True)
class Port:
    """One input or output of the graph: name, type (``tensor(float)``, ``seq(map(...))``) and
    shape (ints, or strings/None for dynamic dimensions)."""

    name: str
    type: str
    shape: tuple[int | str | None, ...]

    @property
    def width(self) -> int | None:
        """Values per row (the second dimension), when fixed."""
        if len(self.shape) < 2:
            return 1
        dim = self.shape[1]
        return dim if isinstance(dim, int) else None


@dataclass(frozen=True, slots=True)
class Choice:
    """The output read: ``meaning`` is probability, margin, label or value (regression)."""

    port: Port
    meaning: str
    why: str


def ports(args: Any) -> tuple[Port, ...]:
    return tuple(
        Port(a.name, str(a.type), tuple(d if isinstance(d, int) else None for d in a.shape or ()))
        for a in args
    )


def _is_probability(port: Port, facts: GraphFacts) -> bool:
    if port.type.startswith("seq(map("):
        return True
    if port.type not in FLOAT_TYPES:
        return False
    return "prob" in port.name.lower() or facts.producers.get(port.name) in PROBABILITY_OPS


def _why_probability(port: Port, facts: GraphFacts) -> str:
    if port.type.startswith("seq(map("):
        return " (a ZipMap of class probabilities)"
    if "prob" in port.name.lower():
        return " (named like probabilities)"
    return f" (written by a {facts.producers.get(port.name)} node)"


def _meaning(port: Port, facts: GraphFacts) -> str:
    if _is_probability(port, facts):
        return "probability"
    if port.type in LABEL_TYPES:
        return "label"
    if "logit" in port.name.lower():
        return "margin"
    return "value"


def choose_output(outputs: tuple[Port, ...], facts: GraphFacts, output: str) -> Choice:
    """The output to read and what it means, for ``target.model_output`` = ``output``
    (docs/models.md)."""
    names = [o.name for o in outputs]
    if output not in ("auto", "margin", "probability"):
        port = next((o for o in outputs if o.name == output), None)
        if port is None:
            raise InputError(
                UNKNOWN_OUTPUT.format(name=output, outputs=names), subject="model_output"
            )
        return Choice(port, _meaning(port, facts), " (named by model_output)")
    floats = [o for o in outputs if o.type in FLOAT_TYPES or o.type.startswith("seq(map(")]
    probabilities = [o for o in floats if _is_probability(o, facts)]
    if output == "auto" and probabilities:
        return Choice(probabilities[0], "probability", _why_probability(probabilities[0], facts))
    if output == "auto":
        margins = [o for o in floats if _meaning(o, facts) == "margin"]
        if len(margins) == 1:
            return Choice(margins[0], "margin", " (named like logits)")
        if len(floats) == 1:
            return Choice(floats[0], "value", " (the only float output)")
        raise InputError(
            AMBIGUOUS_OUTPUT.format(what="score", outputs=names), subject="model_output"
        )
    candidates = probabilities or floats if output == "probability" else floats
    candidates = [o for o in candidates if not o.type.startswith("seq(")] or candidates
    if len(candidates) != 1:
        raise InputError(
            AMBIGUOUS_OUTPUT.format(what=output, outputs=names), subject="model_output"
        )
    return Choice(candidates[0], output, " (model_output)")
