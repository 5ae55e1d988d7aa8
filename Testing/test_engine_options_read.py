"""``rau.engines.ENGINE_OPTIONS`` against the engines: each engine's ``from_options`` reads what its entry names."""

from __future__ import annotations

import pytest

from rau.engines import ENGINE_OPTIONS, ENGINES, engine_class
from rau.options import EngineOptions, option_fields

READ_NOT_USED = {
    "sam2-memory": {"fusion", "keep_transfers", "slice_margin"},  # its registration only ranks; no localizer bounds SAM2
    "registration+sam2": {"keep_transfers"},  # its registration localizes: no reference's own masks are kept
    "rau": {"fusion", "keep_transfers", "slice_margin", "slice_axis"},  # ranks only; from the VLM's key slices SAM2 follows
    # the whole volume, sliced across the VLM's axial views (run() sets the axis the segmenter read)
    "vlm-box": {"top_k", "fusion", "keep_transfers"},  # ranks only, and the VLM sees the best reference
}
"""Options an engine's ``from_options`` reads (its registration is built whole) that the engine does not use."""


def options_read(engine: str, **given) -> set[str]:
    """The options ``engine``'s ``from_options`` reads from ``EngineOptions(**given)``; a model it cannot load is
    refused once its options were read, so a refusal still tells them."""
    names = {spec.name for spec in option_fields()}
    read, recording = set(), [False]

    class Recording(EngineOptions):
        def __getattribute__(self, name):
            if recording[0] and name in names:
                read.add(name)
            return super().__getattribute__(name)

    options = Recording(**given)
    recording[0] = True
    try:
        engine_class(engine).from_options(options)
    except Exception as error:  # the VLM below cannot be loaded: the options were read before
        assert "--vlm-model" in str(error), error
    return read


@pytest.mark.parametrize("engine", list(ENGINES))
def test_each_engines_entry_names_exactly_the_options_its_from_options_reads(engine, tmp_path):
    """Before, ENGINE_OPTIONS was written by hand beside the engines and nothing checked it against them: an entry that
    drifted made the command line warn "does not use it" of an option the engine used (or stay silent of one it
    ignored) and the server drop a client's option the engine reads. A VLM on a server, and a local one (an empty
    folder, refused once its options were read), read different options: both count."""
    read = options_read(engine, vlm_server="http://127.0.0.1:9") | options_read(engine, vlm_model=str(tmp_path))
    not_used = READ_NOT_USED.get(engine, set())
    assert not_used <= read  # the exceptions above stay true
    assert read - not_used == set(ENGINE_OPTIONS[engine])
