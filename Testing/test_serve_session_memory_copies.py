"""``rau serve --max-session-gb`` counts every distinct array a session reaches once (:func:`rau.serve.sessions.result_nbytes`):
also the session's own copy of a structure that gave way to an overwrite correction (equal to the result's, not the same
array), and it counts again after a hand edit, a client's ``gave_way`` and ``gave_up``, not only after a reprompt or
undo; through a real server on loopback with the registration engine on write_liver_and_spleen()'s 6 x 30 x 40 target
(a 7 200 B mask)."""

from __future__ import annotations

import numpy as np
from serve_helpers import running_server
from test_serve_session_memory import OVERWRITES, assert_closed_for_a_second
from test_serve_undo_after_edit import write_liver_and_spleen

from rau.engines import Request, create_engine
from rau.engines.base import Prompt
from rau.io import read_image
from rau.references import load_reference
from rau.serve.app import ServerConfig
from rau.serve.client import Client
from rau.serve.sessions import Entry, correct, result_nbytes
from rau.serve.wire import encode_mask

LIVER_EDIT = (slice(1, 5), slice(3, 25), slice(3, 30))
"""A hand edit that fills the liver over most of the target's middle."""


def reachable_bytes(value) -> int:
    """The bytes of every distinct array reachable from ``value`` through rau's objects (their attributes), dicts,
    lists, tuples and sets, each array by the one that owns its memory, counted once."""
    owners, seen, stack = {}, set(), [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            while isinstance(item.base, np.ndarray):
                item = item.base
            owners[id(item)] = item.nbytes
        elif isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif type(item).__module__.startswith("rau") and hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return sum(owners.values())


def registration_result(tmp_path):
    reference, target = write_liver_and_spleen(tmp_path)
    return create_engine("registration").run(Request([load_reference(reference[0], reference[1])], read_image(target)))


def test_the_count_holds_the_session_copy_of_each_structure_that_gave_way_to_an_overwrite(tmp_path):
    """Before, each overwrite left the count one 7 200 B mask short of what the session reaches (the structure that
    gave way, held as equal copies in the result and the session, the session's counted nowhere): 86 400 B counted of
    93 672 B after two (on a 512 x 512 x 300 CT, about 78 MB per structure)."""
    result = registration_result(tmp_path)
    session = result.session
    for name, click in OVERWRITES:
        result.put_correction(session.reprompt(name, Prompt(points=[click], labels=[1]), overwrite=True), session, True)
        assert result_nbytes(result) == reachable_bytes(result)
    other = "spleen" if name == "liver" else "liver"
    assert result.get(other).mask is not session.results[other].mask  # the copy counted
    assert np.array_equal(result.get(other).mask, session.results[other].mask)
    while session.can_undo("liver") or session.can_undo("spleen"):
        name = "liver" if session.can_undo("liver") else "spleen"
        result.put_correction(session.undo(name), session, False)
        assert result_nbytes(result) == reachable_bytes(result)
    assert result_nbytes(result) == reachable_bytes(result) > 0


def test_the_server_counts_a_session_again_after_a_hand_edit_a_gave_way_and_a_gave_up(tmp_path):
    """Before, an edit, a gave_way and a gave_up left the session's count as the last reprompt or undo set it: the
    liver's edit here left it at 64 800 B of the 79 272 B the session reaches."""
    result = registration_result(tmp_path)
    entry = Entry(result, result_nbytes(result), 0.0)
    correct(entry, "reprompt", "liver", (Prompt(points=[OVERWRITES[0][1]], labels=[1]), True))
    assert entry.nbytes == result_nbytes(result) == reachable_bytes(result)
    liver = np.zeros(result.target.shape, bool)
    liver[LIVER_EDIT] = True
    correct(entry, "edit", "liver", liver)
    assert entry.nbytes == result_nbytes(result) == reachable_bytes(result)
    spleen = result.get("spleen").mask & ~liver
    spleen[0] = True  # the client's spleen holds a slice more than the server's
    correct(entry, "gave_up", "spleen", ("liver", spleen))
    assert np.array_equal(result.get("spleen").mask, spleen)
    assert entry.nbytes == result_nbytes(result) == reachable_bytes(result)
    correct(entry, "gave_way", "liver", np.zeros(result.target.shape, bool))  # the client's liver gave way everywhere
    assert not result.get("liver").found
    assert entry.nbytes == result_nbytes(result) == reachable_bytes(result)


def test_a_session_grown_by_an_overwrite_and_an_edit_past_max_session_gb_goes_first_when_another_needs_room(tmp_path):
    """An overwrite and a hand edit make the first session hold 79 272 B (43 272 B before them); with another of
    43 272 B, both exceed the server's 118 000 B, so the first, the least recently used, is closed. Before, it was
    counted as 64 800 B (the spleen's session copy counted nowhere, the edit not counted) and stayed open beside the
    second."""
    reference, target = write_liver_and_spleen(tmp_path)
    with running_server(ServerConfig(work_dir=tmp_path / "work", max_session_bytes=118_000)) as (url, _app):
        client = Client(url)
        first = client.submit(target, [reference], "registration")
        assert client.wait(first)["session"] is not None
        name, (i, j, k) = OVERWRITES[0]
        assert client.reprompt(first, name, {"points": [[i, j, k]], "labels": [1]}, overwrite=True)["warnings"] == []
        liver = np.zeros((6, 30, 40), bool)
        liver[LIVER_EDIT] = True
        client.edit(first, "liver", encode_mask(liver))
        assert_closed_for_a_second(client, first, reference, target)
