"""One cohort run: skip finished targets, run the rest on a backend, show progress, write the summary CSV."""

from __future__ import annotations

import contextlib
import csv
import sys
import time
from pathlib import Path

from tqdm import tqdm

from rau.batch.items import LOCK_NAME, SUMMARY_NAME, WorkItem
from rau.batch.seg_nrrd import added_seg_nrrd
from rau.errors import InputError, OptionError
from rau.file_locks import lock_file, remove_lock_file, still_at
from rau.io.atomic import atomic_path, leftover_temporaries, new_folders_removed_on_error
from rau.io.outputs import check_folder_writable

COLUMNS = ["target", "target_image", "status", "seconds", "found", "error"]
SEG_NRRD_ADDED = "outputs exist; .seg.nrrd added"
"""The summary's error column of a skipped target whose ``.seg.nrrd`` this run made from its saved outputs."""


def run_batch(items: list[WorkItem], out_dir, backend, prepare=None) -> list[dict]:
    """Run ``backend(todo, on_row)`` over the items without complete outputs; return every item's row.

    ``prepare()`` (joining a Ray cluster) is called only once the folder is checked and locked, and only when there
    are targets to run, before anything is written: a run it refuses leaves the folder as it was (or none).

    Finished items are ``skipped``, those lacking only a ``.seg.nrrd`` too once it is made from their saved outputs
    (:func:`rau.batch.seg_nrrd.added_seg_nrrd`); half-written ones are redone. The summary CSV in ``out_dir``
    is rewritten as rows arrive, so an interrupted run leaves an accurate partial summary: targets
    it did not finish stay ``pending``.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError(f"--out {out_dir} is a file; give a folder for the outputs")
    try:
        check_folder_writable(out_dir)  # before any worker starts (each would fail its target)
    except InputError as error:
        raise OptionError(f"--out {error}") from None
    with new_folders_removed_on_error(out_dir):  # refused (or stopped) before it wrote anything: the folders go too
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a read-only file system ...
            raise OptionError(f"--out {out_dir}: cannot create this folder ({error.strerror})") from error
        with held_folder(out_dir):
            return _run_held(items, out_dir, backend, prepare)


def _run_held(items: list[WorkItem], out_dir: Path, backend, prepare) -> list[dict]:
    """:func:`run_batch` in a folder no other batch writes to: what killed runs left half-written goes first, and what
    this run's workers left when it was stopped goes last (a Ray actor is killed, perhaps as it places its files)."""
    states = {item.name: item.state() for item in items}
    if prepare is not None and any(state not in ("complete", "lacks_seg_nrrd") for state in states.values()):
        prepare()
    _remove_temporaries(items, out_dir)
    rows = {item.name: {"target": item.name, "target_image": str(item.case.target_image), "status": "pending"} for item in items}
    todo = []
    for item in items:
        state = states[item.name]
        if state == "complete" or (state == "lacks_seg_nrrd" and added_seg_nrrd(item)):
            rows[item.name].update(status="skipped", found=item.recorded()["found"], error=SEG_NRRD_ADDED if state == "lacks_seg_nrrd" else "outputs exist")
        else:
            todo.append(item)
    bar = tqdm(total=len(todo), desc="rau batch", unit="target", file=sys.stderr, disable=not sys.stderr.isatty())
    counts = {"done": 0, "failed": 0}
    last_write = time.monotonic()

    def on_row(row: dict) -> None:
        nonlocal last_write
        for warning in row.pop("warnings", []):  # as a worker would print them, once each
            bar.write(f"warning: {warning}", file=sys.stderr)
        rows[row["target"]].update(row)
        counts[row["status"]] += 1
        bar.set_postfix(done=counts["done"], failed=counts["failed"], remaining=len(todo) - sum(counts.values()), refresh=False)
        bar.update(1)  # draws the count and the postfix together
        if time.monotonic() - last_write > 5:
            write_summary(out_dir / SUMMARY_NAME, rows.values())
            last_write = time.monotonic()

    try:
        if todo:
            backend(todo, on_row)
    finally:
        bar.close()
        for item in todo:  # finished as the run was stopped, before its row arrived
            if rows[item.name]["status"] == "pending" and item.state() == "complete":
                rows[item.name].update(status="done", **item.recorded())
        write_summary(out_dir / SUMMARY_NAME, rows.values())
        _remove_temporaries(items, out_dir)
    return list(rows.values())


def _remove_temporaries(items: list[WorkItem], out_dir: Path) -> None:
    """Remove the hidden temporary files of the items' outputs and of the summary (no worker writes them now)."""
    for leftover in leftover_temporaries([out_dir / SUMMARY_NAME, *(path for item in items for path in item.outputs.values())]):
        leftover.unlink(missing_ok=True)


def write_summary(path: Path, rows) -> None:
    """The summary CSV: one row per target with its status, time, structures found and error."""
    with atomic_path(path, overwrite=True) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


@contextlib.contextmanager
def held_folder(out_dir: Path):
    """Hold ``out_dir``'s :data:`LOCK_NAME` locked for the run, and remove it after: a second batch writing to the same
    folder at once (its targets' outputs made with other options, the summary of whichever ended last) is refused.
    The lock goes with the process, however it ends (a killed run leaves the file, unlocked)."""
    lock = out_dir / LOCK_NAME
    try:
        handle = open(lock, "a+b")
    except OSError as error:  # a folder of that name, no permission ...
        raise OptionError(f"--out {out_dir}: cannot open the lock file {lock} ({error.strerror})") from None
    with handle:
        try:
            lock_file(handle.fileno())
            if not still_at(handle.fileno(), lock):  # locked as the run holding it removed it
                raise BlockingIOError
        except BlockingIOError:
            raise OptionError(f"--out {out_dir}: another rau batch is writing to this folder (it holds {lock}); wait for it "
                              "to end, or give another --out") from None
        except OSError as error:
            raise OptionError(f"--out {out_dir}: cannot lock {lock} ({error.strerror}); give an --out on a file system "
                              "that locks files") from None
        try:
            yield
        finally:
            remove_lock_file(handle, lock)
