"""``rau serve --max-session-gb`` counts what a session keeps, not only its target and masks: a SAM2 session's
reference images, cached features and memory (:meth:`rau.session.Session.held_bytes`), through a real server on
loopback with a tiny SAM2 model, a 6 x 30 x 40 target (29 kB) and a 20 x 100 x 100 reference (800 kB)."""

from __future__ import annotations

import pytest
from serve_helpers import running_server
from test_serve_undo_after_edit import write_liver_and_spleen

from rau.engines import Request, create_engine
from rau.io import read_image
from rau.references import load_reference
from rau.serve.app import ServerConfig
from rau.serve.client import Client, ServerError
from rau.serve.sessions import result_nbytes


def test_a_sam2_session_counts_its_reference_images_and_features(tiny_sam2, tmp_path):
    reference, target = write_liver_and_spleen(tmp_path, (20, 100, 100))
    options = {"sam2_model": str(tiny_sam2["always"]), "device": "cpu"}
    result = create_engine("sam2-memory", options).run(Request([load_reference(reference[0], reference[1])], read_image(target)))
    masks = sum(item.mask.nbytes for item in result.structures if item.found)
    assert result_nbytes(result) >= result.target.array.nbytes + masks + 20 * 100 * 100 * 4 + result.session.tracker.cache.nbytes > 0


def test_a_sam2_session_whose_references_exceed_max_session_gb_is_not_kept(tiny_sam2, tmp_path):
    """Before, only the target and masks were counted (about 43 kB here): the session was kept, its 800 kB reference
    image and features with it, however many sessions came."""
    reference, target = write_liver_and_spleen(tmp_path, (20, 100, 100))
    config = ServerConfig(work_dir=tmp_path / "work", max_session_bytes=200_000,
                          engine_options={"sam2_model": str(tiny_sam2["always"]), "device": "cpu"})
    with running_server(config) as (url, _app):
        client = Client(url)
        job = client.submit(target, [reference], "sam2-memory")
        record = client.wait(job)
        assert record["session"] is None and "more than the" in record["no_session"]
        assert any("rau serve --max-session-gb" in warning for warning in record["warnings"])
        with pytest.raises(ServerError, match=r"never opened: its result needs .* GiB, more than the .* GiB the server keeps") as gone:
            client.reprompt(job, "liver", {"points": [[20, 15, 3]], "labels": [1]})
        assert gone.value.status == 410
