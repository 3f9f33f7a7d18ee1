"""Aim repositories (the ``.aim`` folder ``aim.Run`` writes) as trainboard runs, read with the ``aim`` package.

Why through ``aim`` itself: Aim keeps each run in RocksDB databases (``.aim/meta/chunks/<hash>`` and
``.aim/seqs/chunks/<hash>``, opened through the ``aimrocks`` binding) whose keys and values use Aim's own binary
path encoding, and its run properties (experiment, tags, name, description) in ``run_metadata.sqlite``. Reading the
RocksDB files without ``aimrocks`` would mean reimplementing RocksDB's table format; a second virtual environment
made by the test command would be slow and need the network. So ``trainboard import aim`` needs ``pip install aim``
(the test environment has it; its ``filelock<4`` pin moved the lock from filelock 4.3.2 to 3.32.7, which nothing in
trainboard imports and every locked user of filelock accepts).

Runs are read from their own databases (``meta/chunks/<hash>``), not from the repository's index
(``meta/index``): Aim fills the index only while ``aim up`` or ``aim server`` runs, so a run written since then is
in no index, and reading must not write into the user's repository.

Mapped: experiment -> project, run name -> name, run params (``run[...]``) -> config, ``description`` -> notes,
tags -> tags, every point of every numeric sequence with its step and timestamp (float64 as Aim stored it);
the epoch Aim keeps beside a point as the ``epoch`` metric at that step (``aim.epoch`` when the run tracks a metric
called ``epoch`` itself). A metric tracked with a context is its own key: ``name`` without a context,
``name/k=v`` with one (``loss/subset=train``, ``loss/subset=val``), items sorted by name and joined with ``,``
(``acc/fold=1,subset=val``); a value that is not a string is written as JSON (``fold=1``, ``ema=true``). Aim's own
system metrics (``__system__cpu`` ...) keep their names. A run with an end time is ``completed``; without one Aim
calls it active, imported as ``running`` (a later import moves it on once Aim records the end). Creation time ->
start time; end time, hash, experiment and ``archived`` go into the config under ``aim``.

Counted, not imported: images, audios, distributions, figures and texts (each tracked value), terminal log lines
and log records Aim captured, Aim's system params (``__system_params``: environment variables, packages, git),
points at steps trainboard refuses and epochs that differ between metrics at one step. The run id derives from
Aim's run hash: importing again (from the same repository or a copy) adds nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from trainboard.importers import ImportedRun, Series, stable_id
from trainboard.wire.checks import check_key, check_step

__all__ = ["EPOCHS_DISAGREE", "context_key", "read_repo", "repo_root"]

EPOCHS_DISAGREE = "epochs that differ between metrics at one step"
#: Aim's numeric sequence dtypes (``aim.Metric.allowed_dtypes``)
_NUMERIC = {"float", "float64", "int", "number"}
#: Aim's other sequence dtypes -> what ``trainboard import`` says it skipped
_SKIPPED = {
    "aim.image": "images",
    "list(aim.image)": "images",
    "aim.audio": "audios",
    "list(aim.audio)": "audios",
    "aim.distribution": "distributions",
    "aim.figure": "figures",
    "aim.text": "texts",
    "list(aim.text)": "texts",
    "aim.log_line": "terminal log lines",
    "aim.log_record": "log records",
}
#: config keys the importer sets (a run param of the same name goes to ``aim.params``)
_OWN_KEYS = ("imported_from", "aim", "import_skipped")


def repo_root(path: Path) -> Path | None:
    """The folder holding ``.aim`` for ``path`` (that folder, or the ``.aim`` folder itself); ``None``: neither."""
    path = path.resolve()
    if path.name == ".aim" and path.is_dir():
        return path.parent
    return path if (path / ".aim").is_dir() else None


def read_repo(root: Path) -> Iterator[ImportedRun]:
    """Every run of the Aim repository at ``root`` (the folder holding ``.aim``), oldest first."""
    from aim.sdk.repo import Repo

    repo: Any = Repo(str(root))  # (aim's types are partial: its objects are handled as Any here)
    try:
        runs = [_open_run(repo, run_hash) for run_hash in repo.list_all_runs()]
        runs.sort(key=lambda r: (r.creation_time or 0.0, r.hash))
        for run in runs:
            yield _imported(run, root)
    finally:
        repo.close()


def _open_run(repo: Any, run_hash: str) -> Any:
    """``run_hash`` read-only, its metadata from the run's own database rather than the repository's index (which
    only ``aim up`` fills): the same trees ``Run`` reads, pointed at ``meta/chunks/<hash>``."""
    from aim.sdk.run import Run

    run: Any = Run(run_hash, repo=repo, read_only=True)
    tree = repo.request_tree("meta", run_hash, read_only=True).subtree("meta")
    run.meta_tree = tree
    run.meta_run_tree = tree.subtree("chunks").subtree(run_hash)
    run.meta_attrs_tree = tree.subtree("attrs")
    run.meta_run_attrs_tree = run.meta_run_tree.subtree("attrs")
    run._tracker.meta_tree = tree  # contexts are looked up through the tracker
    return run


def context_key(name: str, context: dict[str, Any]) -> str:
    """The trainboard key of Aim's sequence ``name`` tracked with ``context``: ``loss``, ``loss/subset=train``."""
    if not context:
        return name
    items = (f"{k}={v if isinstance(v, str) else json.dumps(v, sort_keys=True)}" for k, v in sorted(context.items()))
    return f"{name}/{','.join(items)}"


def _imported(run: Any, root: Path) -> ImportedRun:
    skipped: Counter[str] = Counter()
    params = _params(run)
    if "__system_params" in params:
        del params["__system_params"]
        skipped["system params (__system_params)"] += 1
    end_time = run.end_time
    meta: dict[str, Any] = {
        "run_hash": run.hash,
        "experiment": run.experiment,
        "repo": str(root),
        "end_time": end_time,
        "archived": bool(run.archived),
    }
    clashing = {k: params.pop(k) for k in _OWN_KEYS if k in params}
    if clashing:
        meta["params"] = clashing
    config: dict[str, Any] = params | {"imported_from": "aim", "aim": meta}
    imported = ImportedRun(
        stable_id("aim", run.hash),
        run.name or run.hash,
        config,
        [],
        project=run.experiment or None,
        tags=sorted(str(t) for t in run.tags),
        notes=run.description or None,
        status="completed" if end_time is not None else "running",
        skipped=skipped,
        started=run.creation_time,
    )
    imported.series = _series(run, skipped)
    return imported


def _params(run: Any) -> dict[str, Any]:
    try:
        params = run[...]
    except KeyError:  # no params were ever set
        return {}
    return dict(params) if isinstance(params, dict) else {}


def _series(run: Any, skipped: Counter[str]) -> list[Series]:
    from aim.sdk.sequence import Sequence
    from aim.storage.context import Context

    contexts: dict[int, dict[str, Any]] = _collect(run.meta_tree, "contexts")
    traces: dict[int, dict[str, dict[str, Any]]] = _collect(run.meta_run_tree, "traces")
    by_dtype: dict[str, Any] = {d: cls for cls in Sequence.registry.values() for d in _dtypes(cls)}
    numeric: list[tuple[str, list[int], list[Any], list[float], list[float]]] = []
    for ctx_id, by_name in traces.items():
        context = contexts.get(ctx_id, {})
        for name, info in by_name.items():
            dtype = info.get("dtype", "float")
            cls = by_dtype.get(dtype)
            if cls is None:
                skipped[f"{dtype} values"] += 1
                continue
            sequence = cls(name, Context(cast(Any, context)), run)
            if dtype not in _NUMERIC:
                skipped[_SKIPPED.get(dtype, f"{dtype} values")] += len(sequence.data.indices_list())
                continue
            steps, (values, epochs, times) = sequence.data.items_list()
            numeric.append((context_key(name, context), steps, values, epochs, times))
    out: list[Series] = []
    keys = Counter(key for key, *_ in numeric)
    epoch_key = "aim.epoch" if "epoch" in keys else "epoch"
    epochs_at: dict[int, tuple[float, float]] = {}
    disagree: set[int] = set()
    for key, steps, values, epochs, times in sorted(numeric, key=lambda s: s[0]):
        if keys[key] > 1 or check_key(key) is not None:
            skipped["points under keys that clash or trainboard refuses"] += len(steps)
            continue
        stream = Series(stable_id("aims", run.hash, key))
        for step, value, epoch, when in zip(steps, values, epochs, times, strict=True):
            if check_step(step) is not None:
                skipped["points at steps trainboard refuses"] += 1
                continue
            stream.points.append((step, float(when), {key: float(value)}))
            if epoch is not None and not math.isnan(epoch):
                seen = epochs_at.setdefault(step, (float(epoch), float(when)))
                if seen[0] != epoch:
                    disagree.add(step)
        out.append(stream)
    if disagree:
        skipped[EPOCHS_DISAGREE] += len(disagree)
    if epochs_at:
        stream = Series(stable_id("aims", run.hash, epoch_key))
        stream.points = [(s, when, {epoch_key: e}) for s, (e, when) in sorted(epochs_at.items()) if s not in disagree]
        out.append(stream)
    return out


def _collect(tree: Any, key: str) -> Any:
    """``tree[key]`` as plain values (objects such as images left encoded); ``{}`` when the run has none."""
    try:
        tree.first_key(key)
    except (KeyError, StopIteration):
        return {}
    return tree.collect(key, resolve_objects=False)


def _dtypes(cls: Any) -> tuple[str, ...]:
    """A sequence class's dtypes (some Aim classes give one string rather than a tuple)."""
    allowed = cls.allowed_dtypes()
    return (allowed,) if isinstance(allowed, str) else tuple(allowed)
