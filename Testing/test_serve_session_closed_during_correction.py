"""``rau serve`` over real HTTP on loopback: a session closed (DELETE) while one of its corrections is being computed."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from test_serve import server, write_two_halves  # noqa: F401  (fixture)

from rau.serve.client import Client


def close_during_reprompt(url: str, app, job: str) -> list:
    """Make the job's session send ``DELETE /v1/sessions/<job>`` once its engine has answered a reprompt, and go on
    only when the store has forgotten the session (the DELETE itself then waits for the correction to end). Returns
    the dict that gets the DELETE's thread and answer."""
    result = app.state.server.sessions.get(job).result
    session, closed = result.session, {}
    reprompt = session.reprompt

    def reprompt_then_close(*args, **kwargs):
        answer = reprompt(*args, **kwargs)
        deleting = threading.Thread(target=lambda: closed.update(answer=requests.delete(f"{url}/v1/sessions/{job}", timeout=60)))
        deleting.start()
        deadline = time.monotonic() + 30
        while result.session is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert result.session is None, "the DELETE did not close the session"
        closed["thread"] = deleting
        return answer

    session.reprompt = reprompt_then_close
    return closed


@pytest.mark.parametrize("point, unchanged", [([2, 2, 0], "this prompt changes nothing"), ([40, 30, 0], "")],
                         ids=["changes nothing", "removes voxels"])
def test_a_reprompt_during_which_its_session_is_closed_answers_as_one_before(server, tmp_path, point, unchanged):
    """Before, a reprompt that changed nothing answered 500 (AttributeError: 'NoneType' object has no attribute
    'unchanged'): closing took the engine session from the result while the correction ran, and the answer read it
    again. Now it answers 200 saying so, as one that changes voxels does; the DELETE answers 200 too."""
    url, app = server
    reference, target, table = write_two_halves(tmp_path)
    job = Client(url).submit(target, [reference], label_table=table, options={"deformable": False})
    Client(url).wait(job)
    closed = close_during_reprompt(url, app, job)
    answer = requests.post(f"{url}/v1/sessions/{job}/reprompt", json={"structure": "right", "prompt": {"points": [point], "labels": [0]}}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["unchanged"] == unchanged and answer.json()["version"] == 1
    closed["thread"].join(60)
    assert closed["answer"].status_code == 200 and closed["answer"].json() == {"closed": job}
    assert Client(url).job(job)["session"] is None
