"""The SAM2 segmenter: a request (and optional localizations) in, a result with a correction session out."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from rau.boxes import Box
from rau.engines.base import Localization, Progress, Request, Segmenter, validate_request
from rau.image import Image
from rau.models.loader import option_named
from rau.options import DEFAULTS, EngineOptions, checked_option, flag
from rau.result import Result, StructureResult
from rau.sam2.cache import DEFAULT_BUDGET, FeatureCache
from rau.sam2.conditioning import choose
from rau.sam2.frames import Frames, SliceGeometry, SliceSource, intensity_window, matching_axis, shown_slices, slice_axis, take_slice
from rau.sam2.model import load_sam2, model_source
from rau.sam2.session import Plan, Sam2Session
from rau.sam2.tracker import Tracker
from rau.session import middle_slice
from rau.user_warnings import model_warnings, say_again


class Sam2Segmenter(Segmenter):
    """SAM2 with each structure's reference slice and mask in memory; boxes from a localizer as prompts.

    ``model``: alias (tiny, small, base-plus, large, medsam2), Hugging Face id or local folder. ``slice_axis``:
    i, j, k or auto (coarsest spacing). ``window``: (low, high) intensities, default 0.5-99.5 percentiles.
    ``cache_bytes``: memory budget of the cached image features (:class:`rau.sam2.cache.FeatureCache`;
    the frames kept follow from it and the frame size).
    ``top_k``: references per structure in SAM2's memory. ``slice_margin``: slices tracked beyond a
    structure's localized extent. Options are checked when it is built, as the engine options check them
    (:func:`rau.options.checked_option`).
    """

    def __init__(self, model=None, device=None, slice_axis=None, window=None, revision=None, cache_dir=None, cache_bytes=DEFAULT_BUDGET,
                 name="sam2", top_k=DEFAULTS.top_k, slice_margin=DEFAULTS.slice_margin):
        self.top_k, self.slice_margin = checked_option("top_k", top_k), checked_option("slice_margin", slice_margin)
        self.slice_axis = slice_axis if slice_axis is None else checked_option("slice_axis", slice_axis)  # None: auto
        self.window, self.device = checked_option("window", window), device
        self.source = model_source(model, revision, cache_dir)
        self.cache_bytes, self.name = cache_bytes, name
        self._model = self._style = None
        self._said: list[str] = []  # what loading the model warned of

    @classmethod
    def from_options(cls, options: EngineOptions, name: str = "sam2") -> "Sam2Segmenter":
        """Build from the engine options (``sam2_model``, ``device``, ``slice_axis``, ``window``, ``top_k``, ...)."""
        return cls(
            model=options.sam2_model,
            device=options.device,
            slice_axis=options.slice_axis,
            window=options.window,
            revision=options.sam2_revision,
            cache_dir=options.model_cache,
            name=name,
            top_k=options.top_k,
            slice_margin=options.slice_margin,
        )

    @property
    def model(self):
        """The SAM2-family video model, loaded on first use and kept; a later use says again what its loading warned
        of (:func:`~rau.user_warnings.model_warnings`), so each run of a warm engine records it. A model that cannot be
        loaded is refused naming ``--sam2-model`` (:func:`~rau.models.loader.option_named`)."""
        if self._model is None:
            with model_warnings() as self._said, option_named(flag("sam2_model"), self.source.name):
                self._model, self._style = load_sam2(self.source, self.device)
        else:
            say_again(self._said)
        return self._model

    @property
    def style(self):
        """The checkpoint's :class:`rau.sam2.model.FrameStyle` (frame size, normalisation)."""
        return self.model and self._style

    def segment(self, request: Request, localizations: dict[str, Localization] | None, progress: Progress | None = None) -> Result:
        """Segment every requested structure; each starts from its :func:`rau.sam2.conditioning.choose` frames.

        ``request.references`` are taken best-ranked first (engines rank them with
        :func:`rau.engines.registration.rank`); a localization's ``references`` list overrides that order.
        """
        progress = progress or Progress()
        validate_request(request)
        started = time.perf_counter()
        progress("loading SAM2", 0.0)
        model, size = self.model, self.style.size
        target, references = request.target, request.references
        localizations = localizations or {}
        axis = slice_axis(target, self.slice_axis)
        axes = [matching_axis(r.image, target, axis) for r in references]

        missing, picks = {}, {}
        for structure in request.labels():
            localization = localizations.get(structure.name)
            chosen = choose(request, structure.name, localization, self.top_k, axes)
            if not chosen:
                missing[structure.name] = request.no_voxels_message()
                continue
            picks[structure.name] = chosen
            if localization is not None and not localization.present:
                missing[structure.name] = localization.why_not_present()

        shown = {i: shown_slices(references[i].image, axes[i]) for i in {index for chosen in picks.values() for index, _ in chosen}}
        distinct = sorted({frame for chosen in picks.values() for frame in chosen}, key=lambda frame: (frame[0], shown[frame[0]].index(frame[1])))
        used = sorted(shown)
        geometries = {i: SliceGeometry.of(references[i].image, axes[i], size) for i in used}
        windows = {i: intensity_window(references[i].image, self.window) for i in used}
        target_geometry = SliceGeometry.of(target, axis, size)
        target_window = intensity_window(target, self.window)
        sources = [SliceSource(references[i].image, axes[i], r, windows[i], geometries[i]) for i, r in distinct]
        order = shown_slices(target, axis)
        sources += [SliceSource(target, axis, k, target_window, target_geometry) for k in order]
        frames = Frames(sources, str(model.device), model.dtype, self.style.mean, self.style.std)
        cache = FeatureCache(self.cache_bytes)
        tracker = Tracker(model, frames, cache, first_target_frame=len(distinct))
        session = Sam2Session(tracker, target, axis, target_geometry, len(distinct), self.name, order)

        import torch

        conditioning = {}
        for name, chosen in picks.items():
            best, first = chosen[0]  # the best-ranked reference's largest cross-section
            position = (shown[best].index(first) + 0.5) / references[best].image.shape[axes[best]]  # along the shown order
            structure = request.labels().get(name)
            plan = make_plan(structure, None if name in missing else localizations.get(name), session, position, self.slice_margin)
            if plan is None:
                missing[name] = "its localization box lies outside the target image"
                plan = make_plan(structure, None, session, position)
            session.plans[name] = plan  # a missing structure is not tracked, but a correction can add it
            conditioning[name] = []
            drawn = {index: references[index].segmentation.mask(name) for index in {index for index, _ in chosen}}  # each made once
            for index, r in chosen:
                plane = torch.from_numpy(take_slice(drawn[index], axes[index], r).astype(np.float32))
                mask = (geometries[index].to_frame(plane) >= 0.5).to(model.device, model.dtype)
                conditioning[name].append((distinct.index((index, r)), mask))
        tracker.add_structures(conditioning)

        tracked = [name for name in session.plans if name not in missing]
        found = session.run(tracked, progress) if tracked else {}
        structures = [
            with_vlm_answer(found.get(s.name) or StructureResult(s, None, 0.0, self.name, message=missing.get(s.name, "")), localizations.get(s.name))
            for s in request.labels()
        ]
        session.results = {item.structure.name: item for item in structures}
        details = {
            "model": self.source.name,
            "model_class": type(model).__name__,
            "device": str(model.device),
            "slice_axis": target.file_axis(axis),
            "frames_encoded": cache.encoded,
            "conditioning": {n: [f"{references[i].name}:{r}" for i, r in chosen] for n, chosen in picks.items()},
            "slices_visited": {n: [min(v), max(v)] if v else None for n, v in session.visited.items()},
        }
        return Result(target, structures, self.name, time.perf_counter() - started, details, session)


def with_vlm_answer(item: StructureResult, localization: Localization | None) -> StructureResult:
    """``item`` with what the VLM said about it, as ``vlm-box`` reports it: its answer in the prompts, its confidence
    (lowered for a repaired answer) as a ceiling, and why SAM2 followed the reference's memory alone where the VLM
    said present but gave no box on the target."""
    if localization is None or localization.source != "vlm":
        return item
    prompts = {**item.prompts, "vlm": localization.public_answer()}
    if not item.found:
        return replace(item, prompts=prompts)
    unboxed = localization.present and localization.box is None and not localization.slice_boxes
    message = "the VLM gave no usable box; SAM2 followed the reference's memory alone" if unboxed else item.message
    return replace(item, prompts=prompts, confidence=min(item.confidence, localization.confidence), message=message)


def make_plan(structure, localization: Localization | None, session: Sam2Session, reference_position: float, margin: int = 0) -> Plan | None:
    """Start slice, box prompts and tracked span for one structure; None when all its boxes miss the target.
    Without boxes it starts at ``reference_position`` (0-1) along the slices as shown (:attr:`Sam2Session.order`).

    With a localization that covers the structure's extent (:attr:`Localization.covers_extent`) the structure is
    tracked only on its localized slices plus ``margin`` each side; one that only marks key slices (a VLM's) lets
    SAM2 follow it through the whole target.
    """
    slices = session.slices
    if localization is None or (not localization.slice_boxes and localization.box is None):
        start = session.order[min(slices - 1, int(reference_position * slices))]
        return Plan(structure, start)
    boxes = slice_boxes_along(localization, session.target, session.axis, session.descending)
    if not boxes:
        return None
    prompts = {}
    for k, (row0, col0, row1, col1) in boxes.items():
        x0, y0, x1, y1 = session.geometry.box_to_frame(row0, col0, row1, col1)
        prompts[k] = _box_inputs(x0, y0, x1, y1)
    for k, (points, labels) in localization.slice_points.items():
        if k in prompts and points:
            prompts[k] = _with_points(prompts[k], [session.geometry.point_to_frame(row, col) for row, col in points], labels)
    start = max(sorted(boxes, key=session.shown_position), key=lambda k: (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1]))  # ties: the first shown
    span = None
    if localization.covers_extent:
        low, high = localized_extent(localization, session.target, session.axis)
        span = (max(0, min(low, start) - margin), min(slices, max(high, start + 1) + margin))
    return Plan(structure, start, prompts, localization.source or "boxes", span)


def localized_extent(localization: Localization, target: Image, axis: int) -> tuple[int, int]:
    """The slices [first, last) along ``axis`` that the localization's boxes (per-slice, else its box) cover."""
    boxes = [box.clip(target) for box in (list(localization.slice_boxes.values()) or [localization.box])]
    boxes = [box for box in boxes if not box.empty]
    return min(box.lower[2 - axis] for box in boxes), max(box.upper[2 - axis] for box in boxes)


def slice_boxes_along(localization: Localization, target: Image, axis: int, descending: bool = False) -> dict[int, tuple[int, int, int, int]]:
    """Per-slice (row0, col0, row1, col1) boxes along ``axis``, clipped to the target; empty ones dropped.

    The localization's voxels (``mask``), else its per-slice boxes (given along k, rasterised), are boxed on each
    slice along ``axis``; a lone 3D box prompts only its middle slice (:func:`rau.session.middle_slice`, counted in the
    shown order: ``descending``).
    """
    if localization.mask is not None:
        raster = localization.mask
    else:
        raster = np.zeros(target.shape, dtype=bool)
        if localization.slice_boxes:
            for k, box in localization.slice_boxes.items():
                if 0 <= k < target.shape[0]:
                    _, rows, cols = box.clip(target).slices()
                    raster[k, rows, cols] = True
        else:
            box = localization.box.clip(target)
            if not box.empty:
                middle = middle_slice(box.lower[2 - axis], box.upper[2 - axis], descending)
                key = list(box.slices())
                key[axis] = slice(middle, middle + 1)
                raster[tuple(key)] = True
    boxes = {}
    for k in np.flatnonzero(raster.any(axis=tuple(a for a in range(3) if a != axis))):
        plane = np.take(raster, k, axis=axis)
        found = Box.from_mask(plane[np.newaxis])
        boxes[int(k)] = (found.lower[1], found.lower[0], found.upper[1], found.upper[0])
    return boxes


def _with_points(inputs: dict, coords: list, labels: list[int]) -> dict:
    """SAM2 point inputs with (x, y) frame ``coords`` labelled 1/0 after the existing ones."""
    import torch

    return {
        "point_coords": torch.cat([inputs["point_coords"], torch.tensor([[coords]], dtype=torch.float32)], dim=2),
        "point_labels": torch.cat([inputs["point_labels"], torch.tensor([[labels]], dtype=torch.int32)], dim=2),
    }


def _box_inputs(x0: float, y0: float, x1: float, y1: float) -> dict:
    """SAM2 point inputs for one box (corners labelled 2 and 3)."""
    import torch

    return {
        "point_coords": torch.tensor([[[[x0, y0], [x1, y1]]]], dtype=torch.float32),
        "point_labels": torch.tensor([[[2, 3]]], dtype=torch.int32),
    }
