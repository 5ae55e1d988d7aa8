"""A correction's body is read as a job's spec is (:func:`rau.io.json_text.parse_json`): malformed JSON, JSON that is no
object and a body that is not ``application/json`` are refused with a sentence saying what is wrong (a real
``rau serve`` on loopback; the body is read only for an open session)."""

from __future__ import annotations

import pytest
import requests
from test_serve import finished_job, server  # noqa: F401  (fixture)

from rau.serve.client import Client

SESSION = "0123456789abcdef0123456789abcdef"  # well formed; no job of this server


@pytest.mark.parametrize("body, said", [
    (b"[" * 100000 + b"]" * 100000, "nested too deeply to read"),  # before: 400 "There was an error parsing the body"
    (b'{"structure": "left", "x": ' + b"9" * 5000 + b"}", None),  # a long number reads: the correction is then checked
    (b'{"structure": "\xff"}', "can't decode byte 0xff"),  # bad UTF-8
    (b'{"structure": ', "Expecting value"),  # before: 422 with a list of pydantic errors
    (b'["left"]', "must be a JSON object"),
])
def test_a_correction_body_that_is_not_a_json_object_is_refused_saying_why(server, body, said, tmp_path):  # noqa: F811
    job = finished_job(Client(server[0]), tmp_path)
    answer = requests.post(f"{server[0]}/v1/sessions/{job}/reprompt", data=body,
                           headers={"Content-Type": "application/json"}, timeout=60)
    detail = answer.json()["detail"]
    if said is None:
        assert answer.status_code == 422 and "unknown field 'x'" in detail, detail  # read, then the correction is checked
        return
    assert answer.status_code == 422 and isinstance(detail, str), (answer.status_code, detail)
    assert detail.startswith("the correction's body ") and said in detail, detail


def test_a_correction_sent_as_another_content_type_is_refused_naming_the_type(server):  # noqa: F811
    """Before: a valid JSON object sent as text/plain was told "Input should be a valid dictionary" (422)."""
    answer = requests.post(f"{server[0]}/v1/sessions/{SESSION}/reprompt", data=b'{"structure": "left"}',
                           headers={"Content-Type": "text/plain"}, timeout=60)
    assert answer.status_code == 415
    assert answer.json()["detail"] == "send a correction as JSON (Content-Type: application/json), not text/plain"
