"""rau keeps peft's read of transformers' deprecated ``is_gradient_checkpointing`` (a FutureWarning) out of its output
with a filter installed once, not entered and left with ``warnings.catch_warnings``, which is process-wide and not
thread-safe: ``rau serve``'s job threads load adapters while other threads run."""

from __future__ import annotations

import threading
import time
import warnings

import pytest
from test_cli_correct_moved_models import lora_adapter

CHECKPOINTING = "`is_gradient_checkpointing` is deprecated"


def checkpointing_filtered() -> bool:
    return any(action == "ignore" and message is not None and message.match(CHECKPOINTING) and category is FutureWarning
               for action, message, category, _, _ in list(warnings.filters))


def test_loading_an_adapter_in_a_thread_keeps_the_filters_other_threads_add(tiny_qwen, tmp_path):
    """Before: the thread loading an adapter restored, as it ended, the filters it found as it began, so a filter
    another thread added meanwhile was gone (and one thread's filter could stay installed for good)."""
    pytest.importorskip("peft")
    from rau.vlm.backend import create_backend
    from rau.vlm.local import load_adapter

    adapter = lora_adapter(tiny_qwen, tmp_path / "adapter")
    model = create_backend({"vlm_model": str(tiny_qwen), "device": "cpu"}).model
    with warnings.catch_warnings():  # this test's filters go when it ends
        warnings.resetwarnings()
        loading = threading.Thread(target=load_adapter, args=(model, adapter))
        loading.start()
        deadline = time.monotonic() + 60
        while not checkpointing_filtered() and time.monotonic() < deadline:
            time.sleep(0.0005)
        warnings.filterwarnings("ignore", message="another thread's filter")
        loading.join()
        assert checkpointing_filtered()
        assert any(message is not None and message.pattern == "another thread's filter" for _, message, _, _, _ in warnings.filters)
        with warnings.catch_warnings(record=True) as record:  # narrow: any other FutureWarning is still shown
            warnings.warn("something else is deprecated", FutureWarning)
        assert [str(item.message) for item in record] == ["something else is deprecated"]
