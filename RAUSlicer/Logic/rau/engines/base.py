"""The engine seam: a request in, a :class:`~rau.result.Result` out.

Engines come in two halves that later engines recombine:

* a :class:`Localizer` says, per structure, whether it is present in the target
  and where (a box, and per-slice boxes for volumes);
* a :class:`Segmenter` turns localizations (or none) into masks.

An :class:`Engine` does the whole job; :class:`PipelineEngine` joins a localizer
and a segmenter. A new engine is one new file plus one line in
:data:`rau.engines.ENGINES`.
"""

from __future__ import annotations

import abc
import hashlib
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import groupby
from pathlib import Path
from typing import Callable

import numpy as np

from rau.boxes import Box
from rau.errors import Cancelled, InputError
from rau.image import GeometryError, Image, array_digest, plane_order, reordered, slicer_plane_order
from rau.labels import LabelSet, Segmentation, Structure, UnknownStructureError, name_keys, names_in_words, normalize_name
from rau.options import EngineOptions
from rau.reference_names import named_apart
from rau.result import Result
from rau.user_warnings import warn
from rau.validation import blank_image_problem, tiny_image_problem


class ReferenceInputError(InputError):
    """A reference is unusable (no labels, wrong dimensionality ...)."""


@dataclass
class Reference:
    """An annotated reference: image plus per-structure masks on the image grid."""

    image: Image
    segmentation: Segmentation
    name: str = "reference"
    anatomy: np.ndarray | None = field(default=None, repr=False)
    """Every labelled voxel of the reference (bool, image grid) when ``segmentation`` holds only some of its structures
    (the Slicer module reads the ticked segments' masks only); None when its masks are all there are."""
    image_path: Path | None = field(default=None, repr=False, compare=False)
    """The file or folder the image was read from, if any: a 2D reference that is one slice of a DICOM series is told
    so, as a target is (:attr:`Request.target_path`)."""
    labels_name: str | None = field(default=None, repr=False, compare=False)
    """The name of the labels file read, with as many folders as tell the references' apart
    (:func:`rau.reference_names.named_apart`: ``subjA/labels.nii.gz``; an upload to the server: the client's file name); None
    where none is given (a Slicer segmentation, named by its image)."""
    labels_path: Path | None = field(default=None, repr=False, compare=False)
    """The labels file read, if any (:func:`rau.references.load_reference`): with :attr:`image_path`, what a request names
    references apart by, as the command line does (:attr:`named_by_its_files`)."""

    @property
    def named_by_its_files(self) -> bool:
        """Whether the reference and its labels are named by their files' own names, as :func:`rau.references.load_reference`
        names them (not renamed by the caller, nor named apart yet)."""
        return (self.image_path is not None and self.labels_path is not None
                and (self.name, self.labels_name) == (Path(self.image_path).name, Path(self.labels_path).name))

    def labels_called(self) -> str:
        """How messages name the labels of this reference, which hold its structures: :attr:`labels_name`, else its name."""
        return self.labels_name or self.name

    def labelled_anatomy(self) -> np.ndarray:
        """Every voxel any structure of the reference labels: what engines align on, so that a structure's answer
        does not depend on which others are asked for."""
        return self.anatomy if self.anatomy is not None else self.segmentation.union()

    @cached_property
    def image_digest(self) -> str:
        """SHA-256 of the image's voxels and geometry (:meth:`rau.image.Image.digest`), whatever its file is named."""
        return self.image.digest()

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the image's voxels and geometry (:attr:`image_digest`) and of the label voxels, whatever the files
        or structures are named (computed once): breaks exact ties in rankings (:func:`best_first`)."""
        anatomy = "" if self.anatomy is None else array_digest(self.anatomy)
        return hashlib.sha256(f"{self.image_digest}{self.segmentation.voxel_digest()}{anatomy}".encode()).hexdigest()

    @cached_property
    def structure_digests(self) -> dict[str, str]:
        """Each structure with voxels, as names are matched, with the SHA-256 of its voxels
        (:meth:`rau.labels.Segmentation.structure_digests`), computed once: hashing every mask is the costly part."""
        return self.segmentation.structure_digests()

    def shared_structures(self, other: "Reference", structures: list[str] | None = None) -> list[str]:
        """The structures of this reference (as it names them) that ``other`` holds too, matched by name, with the same
        voxels of the same image (:meth:`rau.image.Image.same_image`: the same grey values and geometry), whatever values,
        voxel types or files store them: each would vote twice. ``structures``: only those a run asks for (None: all;
        names matched as :func:`rau.labels.name_keys` matches them). Empty for another image, whose structures are not
        hashed. Not :attr:`digest`, which hashes label values as stored."""
        if self.image_digest != other.image_digest and not self.image.same_image(other.image):
            return []
        asked = name_keys(structures)
        theirs = other.structure_digests
        return [structure.name for structure in self.segmentation.present()
                if (asked is None or normalize_name(structure.name) in asked)
                and theirs.get(normalize_name(structure.name)) == self.structure_digests[normalize_name(structure.name)]]

    def aligned_to(self, target: Image) -> "Reference":
        """This reference with its pixels in the target's in-plane order when both are placed 2D images in parallel
        planes (:func:`rau.image.plane_order`), else itself."""
        change = plane_order(self.image, target)
        if change is None:
            return self

        def moved(mask):
            return reordered(self.segmentation.geometry.with_array(mask.astype(np.uint8)), *change).array > 0

        masks = {name: moved(mask) for name, mask in self.segmentation.masks.items()}
        image = reordered(self.image, *change)
        return replace(self, image=image, segmentation=Segmentation(image.with_array(np.zeros(image.shape, np.uint8)), self.segmentation.labels, masks),
                       anatomy=None if self.anatomy is None else moved(self.anatomy))


@dataclass
class Request:
    """One target to segment like the references. ``structures``: names (one name alone is fine), or None for all."""

    references: list[Reference]
    target: Image
    structures: list[str] | None = None
    given_labels: LabelSet | None = field(default=None, repr=False, compare=False)
    """The structures as the request was given, kept when :meth:`ranked` reorders its references."""
    target_name: str | None = field(default=None, compare=False)
    """Where the target came from (its file or node name), for messages; None: said as "the target"."""
    target_path: Path | None = field(default=None, compare=False)
    """The file or folder the target was read from, if any (its name is ``target_name`` unless given): a 2D target
    that is one slice of a DICOM series is told so (:func:`rau.io.dicom.series_hint`)."""

    def __post_init__(self):
        if self.target_path is not None and self.target_name is None:
            self.target_name = Path(self.target_path).name
        if isinstance(self.structures, str):  # a lone name, not its letters
            self.structures = [self.structures]
        self.references = [reference.aligned_to(self.target) for reference in _named_apart(self.references)]
        if self.references:  # engines look structures up by name: every reference spells them as the first does
            first = self.references[0].segmentation.labels
            self.references = [replace(r, segmentation=r.segmentation.named_like(first)) for r in self.references]

    def labels(self) -> LabelSet:
        """The structures to find: those named (unknown names raise), else every structure
        with voxels in the first reference (of the references as given, before any ranking)."""
        if self.given_labels is not None:
            return self.given_labels
        segmentation = self.references[0].segmentation
        if not self.structures:
            return segmentation.present()
        try:
            return segmentation.labels.select(self.structures)
        except UnknownStructureError as error:
            raise UnknownStructureError(f"{error}{self._held_by_others()}") from None

    def target_called(self) -> str:
        """The target as errors name it: ``the target 'ct.nii.gz'``, or ``the target`` when it has no name."""
        return f"the target {self.target_name!r}" if self.target_name else "the target"

    def counted(self) -> list[Structure]:
        """Every structure that counts, in the first reference's order: those asked for and every other one the first
        reference lists that some reference has voxels of. References are ranked on them
        (:func:`rau.engines.registration.rank`) and their fused masks kept apart in this order
        (:func:`rau.engines.registration.resolve_overlaps`), so that which structures are asked for, and in what order,
        changes neither the ranking nor any structure's voxels."""
        asked = {structure.name: structure for structure in self.labels()}
        first = self.references[0].segmentation
        present = {name for reference in self.references for name in reference.segmentation.present().names}
        listed = [asked.get(s.name, s) for s in first.labels if s.name in asked or s.name in present]
        return listed + [s for s in asked.values() if s.name not in first.labels.names]  # a ranked request's first may lack one

    def left_out(self) -> dict[str, list[str]]:
        """Structures with voxels in other references but not in the first, which decides what is found when no
        structures are named: each with the labels that hold it (:meth:`Reference.labels_called`)."""
        if self.structures or self.given_labels is not None:
            return {}
        found = {normalize_name(name) for name in self.labels().names}
        held: dict[str, tuple[str, list[str]]] = {}  # by the name as matched: its first spelling, its references
        for reference in self.references[1:]:
            for structure in reference.segmentation.present():
                if normalize_name(structure.name) not in found:
                    held.setdefault(normalize_name(structure.name), (structure.name, []))[1].append(reference.labels_called())
        return dict(held.values())

    def left_out_warnings(self) -> list[str]:
        """:meth:`left_out`, said to the user: one line per structure (rau segment, evaluate and batch print them); the
        first reference may list it without voxels."""
        first = self.references[0]

        def missing(name: str) -> str:
            return "has no voxels in" if first.segmentation.labels.find(name) is not None else "not in"

        return [f"{name!r} is in {', '.join(holders)} but {missing(name)} the first reference {first.labels_called()}, which decides "
                "the structures found; give one that has it first" for name, holders in self.left_out().items()]

    def input_warnings(self) -> list[str]:
        """What ``rau segment``, evaluate, batch and the server say of the request before running it:
        :meth:`left_out_warnings`, then :meth:`pixel_order_warnings`."""
        return self.left_out_warnings() + self.pixel_order_warnings()

    def pixel_order_warnings(self) -> list[str]:
        """One line when a picture meets a placed 2D image stored mirrored or turned against how Slicer shows a picture
        (:func:`rau.image.slicer_plane_order`): here the pixels are matched as stored, Slicer puts the reference in the
        target's pixel order first, so the two answer otherwise."""
        apart = [r.name for r in self.references if plane_order(r.image, self.target) != slicer_plane_order(r.image, self.target)]
        if not apart:
            return []
        names = ", ".join(repr(name) for name in apart)
        if self.target.is_picture:
            placed, picture, remedy = f"the reference {names}", "the target picture", "the target from Slicer (NRRD)"
            other = "the references" if len(apart) > 1 else "the reference"
        else:
            placed, picture, remedy = self.target_called(), f"the reference picture {names}", "the reference from Slicer (NRRD)"
            other = "the target"
        return [f"{placed} is stored mirrored or turned against how Slicer shows a picture: {picture} is matched to it pixel "
                "for pixel as stored here, while Slicer, where a picture has a place, first puts the reference in the "
                f"target's pixel order, so the module answers otherwise; save {remedy} to get Slicer's answer here, or "
                f"{other} in the picture's pixel order to get this one in Slicer"]

    def _held_by_others(self) -> str:
        """For an asked structure the first reference lacks: which other references hold it (the first decides)."""
        first = self.references[0]
        for name in self.structures:
            if first.segmentation.labels.find(name) is None:
                holders = [r.name for r in self.references[1:] if r.segmentation.labels.find(name) is not None]
                if holders:
                    return (f"; the first reference ({first.name}) decides which structures there are, and {name!r} is in "
                            f"{', '.join(holders)}: give one of those first")
        return ""

    def no_voxels_message(self) -> str:
        """What every engine says of a structure asked for that no reference has voxels of."""
        return "has no voxels in the reference" if len(self.references) == 1 else "has no voxels in any reference"

    def ranked(self, references: list[Reference]) -> "Request":
        """The same request with its references in another order (best first); it finds the same structures
        (before, a best-ranked reference that lacked some dropped them)."""
        return replace(self, references=references, given_labels=self.labels())


def _named_apart(references: list[Reference]) -> list[Reference]:
    """Engines keep each reference's evidence by name. References all named by their own files (the Python API's
    :func:`rau.references.load_reference`: :attr:`Reference.named_by_its_files`) whose names or labels' names repeat are
    named as the command line names them, by their folders (:func:`rau.reference_names.named_apart`); any name still
    repeated (a name the caller gave) gets a number (``image.nii.gz (2)``) that no other reference has."""
    names = [reference.name for reference in references], [reference.labels_called() for reference in references]
    if all(reference.named_by_its_files for reference in references) and any(len(set(given)) < len(given) for given in names):
        references = named_apart(references, [(reference.image_path, reference.labels_path) for reference in references])
    taken, named = {reference.name for reference in references}, []
    for reference in references:
        if any(reference.name == other.name for other in named):
            number = 2
            while f"{reference.name} ({number})" in taken:
                number += 1
            reference = replace(reference, name=f"{reference.name} ({number})")
            taken.add(reference.name)
        named.append(reference)
    return named


def best_first(items: list, score: Callable, reference: Callable[..., Reference]) -> list:
    """``items`` by ``score(item)``, highest first; items that tie exactly go by their ``reference(item)``'s
    :attr:`Reference.digest`, so that a ranking does not depend on the order the references were given in."""
    ordered = sorted(items, key=score, reverse=True)
    tied = [list(group) for _, group in groupby(ordered, key=score)]
    return [item for group in tied for item in (group if len(group) == 1 else sorted(group, key=lambda i: reference(i).digest))]


ProgressCallback = Callable[[str, float], None]


def never() -> bool:
    """Never cancelled: the default of :attr:`Progress.is_cancelled`."""
    return False


@dataclass
class Progress:
    """Reports steps (``callback(step, fraction)``) and raises :class:`Cancelled` when asked to stop."""

    callback: ProgressCallback | None = None
    is_cancelled: Callable[[], bool] = field(default=never)  # a function, not a lambda: a Progress can be pickled

    def __call__(self, step: str, fraction: float) -> None:
        if self.is_cancelled():
            raise Cancelled("cancelled by the user")
        if self.callback:
            self.callback(step, fraction)

    def part(self, index: int, count: int) -> "Progress":
        """The progress of the ``index``-th of ``count`` equal parts of a run (a localizer, then a segmenter): the
        part's fractions 0 to 1 reported as that share of the run, which so never goes back from one part to the next."""
        return Progress(_Share(self.callback, index, count) if self.callback else None, self.is_cancelled)


@dataclass
class _Share:
    """A :meth:`Progress.part`'s callback (a class, not a lambda: a Progress can be pickled)."""

    callback: ProgressCallback
    index: int
    count: int

    def __call__(self, step: str, fraction: float) -> None:
        self.callback(step, (self.index + fraction) / self.count)


@dataclass
class Localization:
    """Where one structure lies in the target. ``slice_boxes`` maps slice index k to a 2D box;
    ``slice_points`` maps k to ((row, col) points, labels 1 inside / 0 outside), e.g. along a vessel;
    ``mask``: its voxels on the target grid, where the localizer has them (registration), which a segmenter boxes on
    the slices it cuts (:func:`rau.sam2.segmenter.slice_boxes_along`)."""

    structure: Structure
    present: bool
    box: Box | None = None
    confidence: float = 0.0
    slice_boxes: dict[int, Box] = field(default_factory=dict)
    source: str = ""
    answer: dict = field(default_factory=dict)
    slice_points: dict[int, tuple[list[tuple[int, int]], list[int]]] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    """Names of the references this localization came from, best-ranked first (empty: the request's order)."""
    covers_extent: bool = True
    """Whether the boxes cover the structure's whole extent across the slices (registration), or only mark where it
    lies (a VLM's boxes on its key slices): then a segmenter follows it through the whole target."""
    reason: str = ""
    """Why the localizer found it absent, in its own words (registration: e.g. its references agree on no voxel), or
    did not ask (a VLM: :meth:`Request.no_voxels_message`)."""
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)

    def why_not_present(self) -> str:
        """Why a structure is not present, as the user reads it: the localizer said so (and why, where it says), or it
        gave no usable answer (``answer["answered"]`` False: a VLM reply that could not be read)."""
        who = self.source or "the localizer"
        if self.answer.get("asked") is False:
            return f"not asked: it {self.reason}"
        if self.answer.get("answered") is False:
            return f"no usable answer from {who}"
        return f"absent according to {who}: {self.reason}" if self.reason else f"absent according to {who}"

    def public_answer(self) -> dict:
        """The JSON-ready part of a VLM's answer, kept in a result's prompts: what was repaired, its box in the
        model's coordinates, the reference it was asked with and the slices shown."""
        return {key: self.answer.get(key) for key in ("issues", "model_box", "reference", "reference_slice", "target_slice")}


@dataclass
class Prompt:
    """A user's correction for one structure on the target.

    ``points``: (N, 3) voxel indices (i, j, k) with ``labels`` 1 (inside) / 0 (outside);
    ``box``: a voxel box. Sessions that work slice by slice derive the slice from the points or
    box (:func:`rau.session.prompt_slice`), so prompts placed on any view work. ``names``: how the user gave each
    point (an option, a markup's point), for errors that name one (:func:`rau.session.point_names`); ``box_name``:
    how the user gave the box (:func:`rau.session.box_name`).
    """

    points: list[tuple[float, float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: Box | None = None
    names: list[str] = field(default_factory=list)
    box_name: str = ""


class Engine(abc.ABC):
    """Finds reference structures in a target image."""

    name: str = "engine"
    model_session: bool = False
    """True when ``Result.session`` holds model state that only a new run rebuilds (``rau correct`` re-runs)."""
    corrects_others: bool = False
    """Whether correcting one structure can change others' answers (structures that share one map: vessels), so that
    the hand edits of every structure must reach the session before a correction or undo (:meth:`rau.mrml.Correction.hand_edits`)."""
    label: str = ""
    """How the Slicer panel names the engine (default: ``name``)."""
    requires: tuple[str, ...] = ()
    """Python modules it needs beyond ``rau``'s own (the panel checks them without importing)."""
    uses_sam2: bool = False
    """True when it loads SAM2 (``sam2_model``) on first use: commands check that model before any work."""
    uses_vlm: bool = False
    """True when it asks a vision-language model (``vlm_model``, local unless ``vlm_server``)."""

    @classmethod
    def from_options(cls, options: EngineOptions) -> "Engine":
        """Build from the engine options; each engine reads the fields that apply to it."""
        return cls()

    @classmethod
    def correction_axis(cls, target: Image, options: EngineOptions) -> int:
        """The array axis (0 = k, 1 = j, 2 = i) of the slices a SAM2 engine's session corrects one at a time."""
        from rau.sam2.frames import slice_axis

        return slice_axis(target, options.slice_axis)

    @classmethod
    def check_correction(cls, prompt: Prompt, target: Image, options: EngineOptions) -> None:
        """Refuse, before the engine runs again for ``rau correct``, a prompt its session cannot take (:class:`InputError`):
        a SAM2 engine corrects one slice (:meth:`correction_axis`), so the points must lie on one, and a box must not lie
        flat across the slices."""
        if cls.uses_sam2:
            from rau.session import check_box_across_slices, prompt_slice

            axis = cls.correction_axis(target, options)
            check_box_across_slices(prompt, axis, target)
            prompt_slice(prompt, axis)

    @abc.abstractmethod
    def run(self, request: Request, progress: Progress | None = None) -> Result:
        """Segment every requested structure in ``request.target``."""


class Localizer(abc.ABC):
    """Gives presence and boxes per structure."""

    @abc.abstractmethod
    def localize(self, request: Request, progress: Progress) -> dict[str, Localization]:
        """Localizations keyed by structure name."""

    def localize_ranked(self, request: Request, progress: Progress) -> tuple[dict[str, Localization], list[dict]]:
        """:meth:`localize`, and the reference ranking the localizer made itself (empty if it made none)."""
        return self.localize(request, progress), []


class Segmenter(abc.ABC):
    """Turns localizations (possibly none) into masks."""

    @abc.abstractmethod
    def segment(self, request: Request, localizations: dict[str, Localization] | None, progress: Progress) -> Result:
        """A result with one entry per requested structure."""


class PipelineEngine(Engine):
    """A localizer followed by a segmenter; with a ``ranker`` (a :class:`~rau.engines.registration.RegistrationEngine`),
    several references are put in its ranking order first (a VLM localizer asks about each structure with the best one
    that has it); the result records
    that ranking, or the one the localizer made itself (of two or more references), as the registration engine's does."""

    ranker = None

    def __init__(self, localizer: Localizer, segmenter: Segmenter, name: str):
        self.localizer, self.segmenter, self.name = localizer, segmenter, name

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        progress = progress or Progress()
        validate_request(request)
        started = time.perf_counter()
        from rau.correction import attach_session

        ranking, parts = [], 2 if self.ranker is None else 3  # (ranking,) localizing, segmenting: equal shares of the run
        if self.ranker is not None:
            request, ranking = self.ranker.ranked_references(request, progress.part(0, parts))
        localizations, own_ranking = self.localizer.localize_ranked(request, progress.part(parts - 2, parts))
        ranking = ranking or own_ranking
        result = self.segmenter.segment(request, localizations, progress.part(parts - 1, parts))
        if len(ranking) > 1:
            result.details["ranking"] = ranking
        result.engine = self.name
        for item in result.structures:
            item.engine = self.name
        result.seconds = time.perf_counter() - started
        return attach_session(result)


def validate_request(request: Request, registered: bool = False) -> None:
    """Raise a clear error for requests no engine can serve; ``registered``: also a blank target, which no registration
    can match (an engine that registers the target; another may well answer "not found")."""
    if not request.references:
        raise ReferenceInputError("no reference given")
    check_dimensions(request)
    check_references(request.references, structures=request.structures)
    target = request.target_called()
    problem = tiny_image_problem(request.target, target) or (registered and blank_image_problem(request.target, target))
    if problem:
        raise InputError(problem)
    request.labels()  # raises UnknownStructureError for unknown names


def check_dimensions(request: Request) -> None:
    """Refuse a reference that is 2D where the target is 3D, or the other way round."""
    target = request.target_called()
    for reference in request.references:
        if reference.image.ndim != request.target.ndim:
            size = " x ".join(str(n) for n in request.target.size[: request.target.ndim])
            hint = _series_hint(request.target, request.target_path) or _series_hint(reference.image, reference.image_path)
            called = str(reference.image_path) if reference.image_path else reference.name  # in a pool of image.nii.gz, which one
            raise GeometryError(
                f"reference {called!r} is {reference.image.ndim}D but {target} is {request.target.ndim}D "
                f"({size} voxels); {hint or 'give both as 2D images (one slice or frame) or both as volumes'}"
            )


def _series_hint(image: Image, path: Path | None) -> str | None:
    """What to give instead of a 2D ``image`` (a target or a reference) read from ``path``, one slice of a DICOM series
    (:func:`rau.io.dicom.series_hint`)."""
    if image.ndim != 2 or path is None:
        return None
    from rau.io.dicom import series_hint  # only here: the engines read no files

    return series_hint(path)


def run_request(engine: Engine, request: Request, progress: Progress | None = None, say: Callable[[str], None] = warn) -> Result:
    """Run ``engine`` on ``request`` as ``rau segment`` does: first ``say`` (:func:`~rau.user_warnings.warn`; or
    :func:`~rau.user_warnings.record` for a caller that reports them itself) what the first reference leaves out
    and where Slicer would answer otherwise (:meth:`Request.input_warnings`), so that a result JSON records the same
    warnings whichever command wrote it."""
    for warning in request.input_warnings():
        say(warning)
    return engine.run(request, progress)


def _called_with_labels(reference: Reference, place: str | None = None) -> str:
    """A reference and its labels as messages name them, with where it was given if known:
    ``'case.png' (labels 'case_mask.png', bank.csv line 3)``."""
    return f"{reference.name!r} (labels {reference.labels_called()!r}{f', {place}' if place else ''})"


def check_references(references: list[Reference], places: list[str | None] | None = None,
                     label_table_remedy: str = "a sidecar, or --label-table", structures: list[str] | None = None) -> None:
    """Every reference has labelled voxels, none is a copy of another for any structure the run asks for (``structures``;
    None: all) (:meth:`Reference.shared_structures`: the same image and structure with the same voxels, whatever the files' bytes;
    it would vote twice on it), and all name their labels or none does
    (references meet by structure name: label_<value> never meets a real name). ``places``: where each reference was given (``bank.csv line 3``,
    or None), named in the error; ``label_table_remedy``: how the caller's user gives a label map a table."""
    places = places or [None] * len(references)

    def refused(index: int, message: str) -> ReferenceInputError:
        return ReferenceInputError(f"{places[index]}: {message}" if places[index] else message)

    for index, reference in enumerate(references):
        if not reference.labelled_anatomy().any():
            raise refused(index, f"reference {reference.name!r} has no labelled voxels")
        named = f"reference {reference.name!r}"
        problem = tiny_image_problem(reference.image, named) or blank_image_problem(reference.image, named)
        if problem:
            raise refused(index, problem)
    for index, reference in enumerate(references):
        for earlier in range(index):
            shared = reference.shared_structures(references[earlier], structures)
            if shared:
                them = "it" if len(shared) == 1 else "each"
                raise refused(index, f"reference {_called_with_labels(reference)} is a copy of "
                                     f"{_called_with_labels(references[earlier], places[earlier])} for {names_in_words(shared)}: "
                                     f"the same image and the same voxels of {them}; it would vote twice on {them}")
    first = references[0]
    for index, reference in enumerate(references[1:], start=1):
        if reference.segmentation.labels.named != first.segmentation.labels.named:
            unnamed, named = (index, 0) if first.segmentation.labels.named else (0, index)
            raise refused(unnamed, f"reference {references[unnamed].name!r} has no names for its labels (label_<value>) but "
                                   f"{references[named].name!r} has; give every reference's label map a label table ({label_table_remedy})")
