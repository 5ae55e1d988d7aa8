"""An engine that runs on a ``rau serve`` server: the Slicer module's "Engine location: server URL".

:class:`RemoteEngine` uploads the request's images (MetaImage: geometry round-trips exactly) and reference segmentations
(``.seg.nrrd``), written for the run in a temporary folder that a killed run's next one removes
(:mod:`rau.serve.temporary_folders`), follows the job with the caller's :class:`~rau.engines.base.Progress` (its
cancel cancels the server job) and reads the downloaded ``.seg.nrrd`` back into a
:class:`~rau.result.Result` on the target's grid. :class:`RemoteSession` forwards
corrections to the server's session, one round trip each. Needs no torch on this computer.
"""

from __future__ import annotations

import contextlib
import re
import threading

import numpy as np

from rau.engines.base import Cancelled, Engine, Progress, Reference, Request, validate_request
from rau.errors import InputError
from rau.io import read_segmentation, write_image, write_seg_nrrd
from rau.labels import LabelSet, Segmentation, Structure, normalize_name
from rau.result import Result, StructureResult
from rau.options import EngineOptions, given_and_checked
from rau.serve.client import TOKEN_VARIABLE, Client, JobCancelled, ServerError
from rau.serve.options import CLIENT_OPTIONS
from rau.serve.temporary_folders import CLIENT_UPLOADS, held_temporary_folder
from rau.serve.wire import decode_mask, encode_mask, prompt_to_json
from rau.session import Session
from rau.user_warnings import warn
from rau.validation.options import secret_from_environment


CLOSE_SECONDS = 10.0
"""How long the thread closing a remote session waits for the server (one that never hears of it expires it)."""
DOWNLOADING = "downloading the result"
"""The step told once the server's job is done and its result is still to come (the server's ``done`` is not yet here)."""
UPLOADED = re.compile(r"\breference\d+(?:\.seg\.nrrd|\.mha)\b")
"""The file names references are uploaded under (``reference0.mha``, its labels ``reference0.seg.nrrd`` ...), which the
server names them by."""
UNPICKED = "rau: other labelled anatomy"
"""The segment that carries a reference's labelled voxels beyond the picked structures to the server (never asked for)."""


def upload_files(index: int) -> tuple[str, str]:
    """The file names the reference at ``index`` is uploaded under (:data:`UPLOADED`): its image's, its labels'."""
    return f"reference{index}.mha", f"reference{index}.seg.nrrd"


def uploaded_names(request: Request) -> dict[str, str]:
    """Each reference's upload file names (:func:`upload_files`), and the name a run here gives each: the
    reference's own, and the name of its labels (:meth:`~rau.engines.base.Reference.labels_called`)."""
    names = {}
    for i, reference in enumerate(request.references):
        image_file, labels_file = upload_files(i)
        names[image_file], names[labels_file] = reference.name, reference.labels_called()
    return names


def named_here(value, names: dict[str, str]):
    """``value`` (a step, a message, a structure's prompts) as a run here says it: each upload file name in it
    replaced by the name of the reference it copies (``names``: :func:`uploaded_names`)."""
    if isinstance(value, str):
        return UPLOADED.sub(lambda found: names.get(found.group(0), found.group(0)), value)
    if isinstance(value, list):
        return [named_here(item, names) for item in value]
    if isinstance(value, dict):
        return {key: named_here(item, names) for key, item in value.items()}
    return value


def uploaded_segmentation(reference: Reference) -> Segmentation:
    """The reference's segmentation as the server gets it: when the request holds only the picked structures' masks
    (:attr:`~rau.engines.base.Reference.anatomy`), the rest of its labelled voxels as one more segment,
    :data:`UNPICKED`, so that the server aligns on the same anatomy as a run here."""
    segmentation = reference.segmentation
    if reference.anatomy is None:
        return segmentation
    rest = reference.anatomy & ~segmentation.union()
    if not rest.any():
        return segmentation
    value = max((structure.value for structure in segmentation.labels), default=0) + 1
    labels = LabelSet((*segmentation.labels, Structure(UNPICKED, value, (0.5, 0.5, 0.5))))
    return Segmentation(segmentation.geometry, labels, {**segmentation.masks, UNPICKED: rest})


class RemoteEngine(Engine):
    """The engine ``engine_name`` with ``options`` (client-side choices), run by the server behind ``client``."""

    def __init__(self, client: Client, engine_name: str, options: EngineOptions | dict | None = None):
        """Of ``options``, the choices a client may make (:data:`~rau.serve.options.CLIENT_OPTIONS`) that were given
        are sent, a default too: each key of a dict (checked as :meth:`EngineOptions.from_dict` checks it); of an
        :class:`EngineOptions`, which cannot tell a default given from one left out, those changed from the default.
        The rest is what the server operator started the server with."""
        _, given = given_and_checked(options)
        self.client, self.name = client, engine_name
        self.options = {key: value for key, value in given.items() if key in CLIENT_OPTIONS}

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        validate_request(request)  # here, where the inputs have their own names (the server sees only the uploaded copies')
        progress, names = progress or Progress(), uploaded_names(request)
        with held_temporary_folder(CLIENT_UPLOADS) as folder:
            references = [
                (write_image(ref.image, folder / image_file), write_seg_nrrd(uploaded_segmentation(ref), folder / labels_file), None)
                for (image_file, labels_file), ref in ((upload_files(i), ref) for i, ref in enumerate(request.references))
            ]
            target = write_image(request.target, folder / "target.mha")
            progress("uploading", 0.0)
            job_id = self.client.submit(target, references, self.name, structures=request.structures, options=self.options, seg_nrrd=True)
            try:
                record = self.client.wait(job_id, lambda step, fraction: _relay(progress, named_here(step, names), fraction), progress.is_cancelled)
            except JobCancelled as error:
                if progress.is_cancelled():
                    raise Cancelled("cancelled by the user; the server stopped the job") from error
                raise  # the server's stop or another client cancelled it: an error, said as the server says it
            say_warnings(record, names)
            try:  # the .seg.nrrd, not the label map: it keeps overlapping structures whole and names exactly as given
                found = read_segmentation(self.client.download(job_id, "seg_nrrd", folder / "result.seg.nrrd"), geometry=request.target)
                if progress.is_cancelled():  # pressed as the job ended
                    raise Cancelled("cancelled by the user")
            except BaseException:  # no result will hold the session the job opened: free it (a server gone frees it itself)
                if record.get("session"):
                    with contextlib.suppress(ServerError):
                        self.client.close_session(record["session"])
                raise
        structures = {}
        for structure in [*request.labels(), *(s for ref in request.references for s in ref.segmentation.labels)]:
            # the first reference's values and colours, as a run here gives (a server may answer for more); by the name
            # as names match everywhere (the server reads a name without its leading and trailing spaces)
            structures.setdefault(normalize_name(structure.name), structure)
        items = [structure_result(row, structures[normalize_name(row["name"])], found.masks.get(row["name"]), names) for row in record["structures"]]
        session = RemoteSession(self.client, record["session"], request.target, structures, items, names,
                                record.get("propagates", True)) if record.get("session") else None
        details = {"server": self.client.url, "job": job_id, **({"no_session": record["no_session"]} if record.get("no_session") else {})}
        return Result(request.target, items, record["engine"], record["seconds"], details, session)


def say_warnings(record: dict, names: dict[str, str]) -> None:
    """Warn (:func:`~rau.user_warnings.warn`) of what the job warned of, as a run here would, naming the references
    as it does; not of what writing the server's downloads said (``output_warnings``: a label map this client does not
    read)."""
    for message in record.get("warnings", []):
        if message not in record.get("output_warnings", []):
            warn(named_here(message, names))


def _relay(progress: Progress, step: str, fraction: float) -> None:
    """A server job's step, told to ``progress``: the server's ``done`` leaves the download here still to come."""
    if progress.callback:
        progress.callback(DOWNLOADING if step == "done" else step, fraction)


class RemoteSession(Session):
    """The server-side session of one remote result: each ``reprompt``, ``propagate``, ``undo`` and hand ``edit`` is
    one round trip (an edit that changes nothing, none), so the server corrects from the masks here; ``gave_way`` and
    ``gave_up`` are sent before the next one (:meth:`send_untold`)."""

    propagates = True
    """As the server's session answers it (its job record's ``propagates``; a server that does not say: True): a plain
    attribute in place of :attr:`Session.propagates`, which would ask this class's ``_propagate``, always there."""

    def __init__(self, client: Client, session_id: str, target, structures: dict, items: list[StructureResult], names: dict | None = None,
                 propagates: bool = True):
        """``names``: the references' upload file names, and the names a run here gives them (:func:`uploaded_names`)."""
        super().__init__(target, {item.structure.name: item for item in items})
        self.propagates = propagates
        self.client, self.id, self.structures, self.names = client, session_id, structures, names or {}
        self._corrected_there = False  # the server made the correction under way (it is not yet one here)
        self._untold: list = []  # (structure, call): what gave_way and gave_up heard, not yet sent (:meth:`send_untold`)

    def _reprompt(self, name: str, prompt, progress: Progress) -> StructureResult:
        answer = self._made(lambda: self.client.reprompt(self.id, name, prompt_to_json(prompt, self.target), self.overwrite))
        self.unchanged = answer.get("unchanged", "")  # why it changed nothing, as the server says it (an older server: none)
        return self._answer(answer)

    def _propagate(self, name: str, progress: Progress) -> StructureResult:
        return self._answer(self._made(lambda: self.client.propagate(self.id, name)))

    def _made(self, call) -> dict:
        answer = self._sent(call)
        self._corrected_there = True
        return answer

    def _change(self, name: str, work, progress, verb: str) -> StructureResult:
        """As a session here; a correction the server made but this one did not keep (cancelled as the answer came,
        an answer that cannot be read) is taken back on the server too, so both go on from the same answer. A server
        that cannot take it back closes the session here (:attr:`closed_reason`)."""
        before, self._corrected_there = dict(self.results), False
        try:
            return super()._change(name, work, progress, verb)
        except BaseException:
            if self._corrected_there:
                self.results = before  # the other structures the server's answer changed too
                self._take_back(name)
            raise
        finally:
            self._corrected_there = False

    def _take_back(self, name: str) -> None:
        try:
            self.client.undo(self.id, name)
        except ServerError as error:
            self.closed_reason = f"the server kept a correction of {name!r} that was not kept here ({error})"

    def _sent(self, call):
        """``call()``, one round trip to the server's session, after what it has not heard (:meth:`send_untold`); one the server has closed (410: idle too long, the
        server restarted), that refused the connection (it changed nothing), or whose answer never came (it may have made
        the change or not), is closed here too
        (:attr:`closed_reason`), and the error says what to do; so is every call after."""
        self.send_untold()
        try:
            return call()
        except ServerError as error:
            if error.status in (0, 410):
                self.closed_reason = (str(error) if error.status else f"nothing was changed: {error}" if error.unsent
                                      else f"{error}, so whether it made the change is not known")
                raise InputError(f"{self.closed_reason}; press Run again to correct it") from None
            raise

    def undo(self, name: str) -> StructureResult:
        """Undo on the server, which returns the same earlier answer, then here: a server that refuses (busy) leaves
        both sessions as they were, so the user can try again (one that does not answer closes it: :meth:`_sent`)."""
        name = self._name(name)
        if not self.can_undo(name):
            return super().undo(name)  # raises: nothing to undo
        answer = self._sent(lambda: self.client.undo(self.id, name))
        before = dict(self.results)
        super().undo(name)
        self.results[name] = self._answer(answer)  # the server's answer: the structures it changed come with it
        self.changed = self._changed_since(name, before)
        return self.results[name]

    def edit(self, name: str, mask) -> None:
        """The user's hand edit of ``name``, here and in the server's session."""
        name = self._name(name)
        before, emptied = self.results[name], self._emptied.get(name)
        super().edit(name, mask)
        if self.results[name] is not before:
            try:
                self._sent(lambda: self.client.edit(self.id, name, encode_mask(self.results[name].mask)))
            except BaseException:  # not sent: the next correction sends it again
                self.results[name] = before
                self.keep_emptied(name, emptied)
                raise

    def gave_way(self, name: str, mask) -> None:
        """As a session here; the server's session hears it too (also a mask this one holds already: it wrote the
        correction by its own rule), so both go on from what the node holds, before its next round trip (:meth:`send_untold`)."""
        name = self._name(name)
        super().gave_way(name, mask)
        mask = encode_mask(np.asarray(mask, bool))
        self._untold.append((name, lambda: self.client.gave_way(self.id, name, mask)))

    def gave_up(self, taker: str, name: str, mask) -> None:
        """As a session here; the server's session hears it before its next round trip (:meth:`send_untold`), so both
        give the voxels back on the same undo."""
        taker, name = self._name(taker), self._name(name)
        super().gave_up(taker, name, mask)
        mask = encode_mask(np.asarray(mask, bool))
        self._untold.append((name, lambda: self.client.gave_up(self.id, taker, name, mask)))

    def send_untold(self) -> None:
        """Tell the server's session, in order, how the node wrote what :meth:`gave_way` and :meth:`gave_up` heard
        since the last round trip; one that does not reach it leaves the two sessions apart, so this one closes too
        (:attr:`closed_reason`), and so does every call after."""
        if self.closed_reason:
            raise InputError(f"{self.closed_reason}; press Run again to correct it")
        while self._untold:
            name, call = self._untold.pop(0)
            try:
                call()
            except Exception as error:  # whatever stopped it, the server's session did not hear this
                self._untold.clear()
                self.closed_reason = f"the server's session did not hear how {name!r} was written ({error})"
                if isinstance(error, ServerError):
                    raise InputError(f"{self.closed_reason}; press Run again to correct it") from None
                raise

    def close(self) -> None:
        """Free the server's session, best effort and without waiting: a daemon thread asks the server (for at most
        :data:`CLOSE_SECONDS`), so a slow or silent server never holds up the caller (the Slicer module's GUI
        thread); a server that is gone, or has dropped the session already, expires it itself."""
        threading.Thread(target=self._close_there, name=f"rau close session {self.id}", daemon=True).start()

    def _close_there(self) -> None:
        with contextlib.suppress(ServerError):
            self.client.close_session(self.id, timeout=CLOSE_SECONDS)

    def _answer(self, answer: dict) -> StructureResult:
        """The corrected structure of a server answer; the others it changed (``others``) are updated here."""
        for other in answer.get("others", []):
            self.results[other["structure"]["name"]] = self._structure(other)
        return self._structure(answer)

    def _structure(self, answer: dict) -> StructureResult:
        row = answer["structure"]
        return structure_result(row, self.structures[normalize_name(row["name"])], decode_mask(answer["mask"], self.target.shape), self.names)


def structure_result(row: dict, structure, mask, names: dict[str, str]) -> StructureResult:
    """A :class:`StructureResult` from a server summary row and its mask, its references named as a run here names
    them (``names``: :func:`uploaded_names`)."""
    prompts, message = named_here(dict(row.get("prompts") or {}), names), named_here(row.get("message", ""), names)
    return StructureResult(structure, mask, float(row["confidence"]), row["engine"], prompts, message=message)


def remote_engine(url: str, engine_name: str, options: EngineOptions | dict, token: str | None = None) -> RemoteEngine:
    """The engine on the server at ``url`` (token: ``token`` or ``RAU_SERVER_TOKEN``).

    Models and device are the server operator's, so of ``options`` only the choices a client may make are sent.
    """
    client = Client(url, token or secret_from_environment(TOKEN_VARIABLE))
    return RemoteEngine(client, engine_name, options)
