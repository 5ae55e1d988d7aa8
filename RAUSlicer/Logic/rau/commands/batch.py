"""``rau batch MANIFEST --out DIR``: segment every target of a cohort manifest, resumably."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from rau.commands.engine_options import engine_options, given_options
from rau.engines import unused_options
from rau.engines.checks import check_models, warn_unused_options
from rau.errors import OptionError, about


def run(args: argparse.Namespace) -> int:
    from rau.batch.items import work_items
    from rau.batch.run import SEG_NRRD_ADDED, SUMMARY_NAME, run_batch
    from rau.evaluation.manifest import largest_pool

    given = [option for option, value in (("--gpus-per-worker", args.gpus_per_worker), ("--cpus-per-worker", args.cpus_per_worker)) if value is not None]
    if given and not args.ray:  # they size Ray's actors: without Ray they would be ignored without a word
        raise OptionError(f"{' and '.join(given)} {'size' if len(given) > 1 else 'sizes'} the actors of a Ray cluster; give --ray too, or leave "
                          f"{'them' if len(given) > 1 else 'it'} out")
    gpus, cpus = args.gpus_per_worker or 0.0, args.cpus_per_worker or 1.0
    options = engine_options(args).with_absolute_folders()  # workers (a Ray cluster's) may run in another folder
    items = work_items(args.manifest, args.out, args.seg_nrrd, args.limit)
    unused = warn_unused_options(args.engine, given_options(args), largest_pool([item.case for item in items]))
    for item in items:
        item.warnings = tuple(unused)
    if args.ray in (None, "local"):  # workers on this machine: check before any target (each builds its own engine)
        check_models(args.engine, options)
    if args.ray:  # joined only once --out is checked and locked, and only when a target is left to run
        from rau.batch.ray_backend import RayBackend

        backend = RayBackend(args.ray, args.engine, options, args.workers, gpus, cpus)
        prepare = backend.prepare
    else:
        from rau.batch.pool import default_workers, run_in_processes
        from rau.process_pools import pool_size

        workers = pool_size(args.workers or default_workers(args.engine, options), len(items))
        run_here = functools.partial(run_in_processes, engine_name=args.engine, options=options, workers=workers)
        backend, prepare = (lambda todo, on_row: run_here(todo, on_row=on_row)), None
    rows = run_batch(items, args.out, backend, prepare)
    counts = {status: sum(r["status"] == status for r in rows) for status in ("done", "skipped", "failed")}
    warn_kept_other_options(items, rows, {"engine": args.engine, **json.loads(json.dumps(options.as_dict()))})
    for row in rows:
        if row["status"] == "failed":
            print(f"failed: {about(row['target_image'], row['error'])}", file=sys.stderr)
    added = sum(row.get("error") == SEG_NRRD_ADDED for row in rows)
    existed = f"outputs existed; .seg.nrrd added to {added}" if added else "outputs existed"
    print(f"rau batch: {counts['done']} done, {counts['skipped']} skipped ({existed}), {counts['failed']} failed; summary in {Path(args.out) / SUMMARY_NAME}")
    return 1 if counts["failed"] else 0


NOT_ANSWERING = {"device", "model_cache", "vlm_timeout"}
"""Engine options that say where a run computes, or how long it waits, not what it answers."""


def warn_kept_other_options(items, rows: list[dict], engine: dict) -> None:
    """Say which skipped targets kept outputs an earlier run made with another engine or other engine options (``engine``:
    this run's, as :meth:`rau.batch.items.WorkItem.recorded_engine` gives them; only those it uses for the target count,
    :func:`_answering`): resuming keeps what is done."""
    skipped = {row["target"] for row in rows if row["status"] == "skipped"}
    kept = []
    for item in items:
        if item.name not in skipped or (recorded := item.recorded_engine()) is None:
            continue
        references = len(item.case.references)
        wanted, made = (_answering(options, engine["engine"], references) for options in (engine, recorded))
        if _as_run(made, references) != _as_run(wanted, references):
            kept.append((item.name, made, wanted))
    if not kept:
        return
    name, made, wanted = kept[0]
    differ = ", ".join(f"{key} {json.dumps(made.get(key))} (now {json.dumps(wanted.get(key))})"
                       for key in sorted(set(made) | set(wanted)) if made.get(key) != wanted.get(key))
    print(f"warning: {len(kept)} skipped target(s) kept outputs made with other engine options ({name}: {differ}); "
          "to run them with this run's, give another --out folder or move their outputs away", file=sys.stderr)


def _answering(engine: dict, name: str, references: int) -> dict:
    """The engine and those of its options in ``engine`` (as a result JSON records them) that change what engine ``name``
    answers for a target with ``references`` references: not where it computes or how long it waits
    (:data:`NOT_ANSWERING`), nor one it does not use (:func:`rau.engines.unused_options`, which ``rau batch`` warns of)."""
    ignored = unused_options(name, {key: value for key, value in engine.items() if key != "engine"}, references)
    return {key: value for key, value in engine.items() if key not in NOT_ANSWERING and key not in ignored}


def _as_run(options: dict, references: int) -> dict:
    """``options`` as a run uses them on a target of ``references`` references: a ``top_k`` beyond them is them all
    (:func:`rau.engines.top_k_beyond_pool`), so ``--top-k 3`` and ``5`` answer alike for two."""
    if isinstance(options.get("top_k"), int):
        return {**options, "top_k": min(options["top_k"], references)}
    return options
