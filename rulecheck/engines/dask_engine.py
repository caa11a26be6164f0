"""The pass of :mod:`rulecheck.engines.aggregate` on a Dask cluster (``engine="dask"``).

Each partition of a ``dask.dataframe.DataFrame`` is one batch: a worker reduces it to cells
with :func:`~rulecheck.engines.aggregate.batch_cells` where the partition lives, the partials
are tree-reduced with :func:`~rulecheck.engines.aggregate.combine` on the cluster (only cells
and sample candidates travel), and the client finishes them and runs the rules
(docs/scale.md, "Dask").

The :class:`~rulecheck.engines.aggregate.Setup` (the plan, the targets and the models) is one
object in the graph: scattered to every worker once with a distributed client, one key of the
graph otherwise. The model is therefore pickled to each worker once, not once per partition.

A row's position, which seeds its sample priority, is ``partition index << 40`` plus its place
in the partition: unique and deterministic for a given partitioning, so the seeded sample is
reproducible for the same data split into the same partitions, and changes with the
partitioning. Count-based values do not depend on it.

Dask is imported only here, and only when a pass runs: ``import rulecheck`` never imports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from rulecheck.engines.aggregate import (
    Cells,
    Partial,
    Plan,
    Setup,
    batch_cells,
    combine,
    finish,
    with_task,
)
from rulecheck.errors import InputError

if TYPE_CHECKING:
    from rulecheck.engines.batches import ParquetSource

__all__ = ["NEEDS_DASK", "POSITION_BITS", "SPLIT_EVERY", "collect_dask", "collect_dask_parquet"]

NEEDS_DASK = "the dask engine needs dask: pip install 'rulecheck[dask]'"
NEEDS_DISTRIBUTED = "a Dask scheduler address needs distributed: pip install 'rulecheck[dask]'"
# A partition's first row is at position ``index << POSITION_BITS``: room for 2**40 rows per
# partition and 2**23 partitions in an int64.
POSITION_BITS = 40
# Partials combined by one task of the tree reduction (dask's own default for split_every).
SPLIT_EVERY = 8


def _require_dask() -> Any:
    try:
        import dask
        import dask.dataframe  # the extra is dask[dataframe]
    except ImportError:
        raise InputError(NEEDS_DASK, subject="engine") from None
    return dask


def _distributed() -> Any:
    """The distributed package (untyped: Any), or None when it is not installed."""
    try:
        import distributed
    except ImportError:
        return None
    return distributed


def _default_client() -> Any:
    """The current distributed client, or None (then Dask's default scheduler runs)."""
    distributed = _distributed()
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:  # no client
        return None


@contextmanager
def _client(scheduler: str | None) -> Iterator[Any]:
    """A client of ``scheduler`` (opened here, closed on exit), else the current one or None."""
    if scheduler is None:
        yield _default_client()
        return
    distributed = _distributed()
    if distributed is None:
        raise InputError(NEEDS_DISTRIBUTED, subject="scheduler")
    try:
        # Not the default client: the caller's own client (if any) stays the default.
        client = distributed.Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"cannot reach the Dask scheduler at {scheduler!r}: {exc}", subject="scheduler"
        ) from None
    try:
        yield client
    finally:
        client.close()


def _compute(client: Any, collection: Any) -> Any:
    if client is None:
        return collection.compute()
    return client.compute(collection).result()


def _first_rows(ddf: Any, client: Any) -> pd.DataFrame:
    """The first non-empty partition (the task is fixed from it); the last one if all are."""
    frame = pd.DataFrame()
    for index in range(ddf.npartitions):
        frame = _compute(client, ddf.get_partition(index))
        if len(frame):
            break
    return frame


def _fold(plan: Plan, *partials: Partial) -> Partial:
    """One task of the tree reduction: ``partials`` combined in order."""
    total = partials[0]
    for part in partials[1:]:
        total = combine(total, part, plan)
    return total


def _tree(dask: Any, nodes: Sequence[Any], plan: Plan) -> Any:
    """The combined partial of ``nodes`` (delayed partials), ``SPLIT_EVERY`` per task."""
    fold = dask.delayed(_fold, pure=True)
    level = list(nodes)
    while len(level) > 1:
        level = [fold(plan, *level[i : i + SPLIT_EVERY]) for i in range(0, len(level), SPLIT_EVERY)]
    return level[0]


def collect_dask(ddf: Any, setup: Setup, scheduler: str | None = None) -> tuple[Cells, Setup]:
    """One pass over a ``dask.dataframe.DataFrame``: cells on the workers, tree-reduced there,
    finished here. Returns the cells and ``setup`` with the task fixed.

    ``scheduler`` is the address of a Dask scheduler (``tcp://host:8786``): a client is opened
    to it for this pass and closed after. Without it the current distributed client runs the
    pass, or Dask's default scheduler when there is none.
    """
    dask = _require_dask()
    if ddf.npartitions == 0:
        raise InputError("the data has no rows", subject="data")
    with _client(scheduler) as client:
        setup = with_task(setup, _first_rows(ddf, client))
        if client is not None:
            # Sent to every worker once (hash=False: tokenizing a model may pickle it whole).
            shared: Any = client.scatter(setup, broadcast=True, hash=False)
        else:
            shared = dask.delayed(setup, name=f"rulecheck-setup-{uuid.uuid4().hex}", traverse=False)
        reduce = dask.delayed(batch_cells, pure=True)
        partials = [
            reduce(part, shared, index << POSITION_BITS)
            for index, part in enumerate(ddf.to_delayed())
        ]
        total = _compute(client, _tree(dask, partials, setup.plan))
    return finish(total, setup), setup


def collect_dask_parquet(
    source: ParquetSource, columns: Sequence[str], setup: Setup, scheduler: str | None = None
) -> tuple[Cells, Setup]:
    """:func:`collect_dask` over Parquet files read by the workers (only ``columns``)."""
    _require_dask()
    import dask.dataframe as dd

    source.check_columns(columns)  # the stream engine's message, before any worker reads
    ddf = dd.read_parquet([str(p) for p in source.paths], columns=list(columns))
    return collect_dask(ddf, setup, scheduler)
