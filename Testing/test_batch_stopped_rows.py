"""The summary row of a target whose outputs were written as the run was stopped, before its worker's row arrived."""

from __future__ import annotations

import json

import pytest

from rau.batch.items import work_items
from rau.batch.run import run_batch
from rau.batch.worker import WarmWorker
from rau.options import EngineOptions
from test_batch import MANIFEST, column


def test_a_target_finished_as_the_run_stops_is_listed_with_what_its_result_json_records(tmp_path):
    """Before: ``003_HC,...,done,,,``: its seconds and structures found were left empty, though its result JSON records them."""
    items = work_items(MANIFEST, tmp_path, limit=2)

    def stopped_once_written(todo, on_row):  # the worker wrote the first target's outputs; the stop came before its row
        WarmWorker("registration", EngineOptions(deformable=False)).run(todo[0])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(items, tmp_path, stopped_once_written)
    first, second = (item.name for item in items)
    recorded = json.loads(items[0].outputs["result"].read_text())
    assert column(tmp_path, "status") == {first: "done", second: "pending"}
    assert column(tmp_path, "found") == {first: "label_255", second: ""}  # as a row from its worker lists it
    assert column(tmp_path, "seconds") == {first: str(recorded["seconds"]), second: ""}
