"""The SAM2 segmenter: a request (and optional localizations) in, a result with a correction session out."""

from __future__ import annotations

import time

import numpy as np

from rau.boxes import Box
from rau.engines.base import Localization, Progress, Request, Segmenter, validate_request
from rau.image import Image
from rau.options import EngineOptions
from rau.result import Result, StructureResult
from rau.sam2.cache import FeatureCache
from rau.sam2.frames import Frames, SliceGeometry, SliceSource, intensity_window, matching_axis, slice_axis, take_slice
from rau.sam2.model import load_sam2, model_source
from rau.sam2.session import Plan, Sam2Session
from rau.sam2.tracker import Tracker


class Sam2Segmenter(Segmenter):
    """SAM2 with each structure's reference slice and mask in memory; boxes from a localizer as prompts.

    ``model``: alias (tiny, small, base-plus, large), Hugging Face id or local folder. ``slice_axis``:
    i, j, k or auto (coarsest spacing). ``window``: (low, high) intensities, default 0.5-99.5 percentiles.
    ``cache_frames``: target frames whose image features stay cached (reference frames always stay).
    ``objects_per_pass``: most structures in one memory-attention batch (bounds its activation memory).
    """

    def __init__(self, model=None, device=None, slice_axis=None, window=None, revision=None, cache_dir=None, cache_frames=8,
                 objects_per_pass=8, name="sam2"):
        self.source = model_source(model, revision, cache_dir)
        self.device, self.slice_axis, self.window = device, slice_axis, window
        self.cache_frames, self.objects_per_pass, self.name = cache_frames, objects_per_pass, name
        self._model = self._style = None

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
        )

    @property
    def model(self):
        """The SAM2-family video model, loaded on first use and kept."""
        if self._model is None:
            self._model, self._style = load_sam2(self.source, self.device)
        return self._model

    @property
    def style(self):
        """The checkpoint's :class:`rau.sam2.model.FrameStyle` (frame size, normalisation)."""
        return self.model and self._style

    def segment(self, request: Request, localizations: dict[str, Localization] | None, progress: Progress | None = None) -> Result:
        progress = progress or Progress()
        validate_request(request)
        started = time.perf_counter()
        progress("loading SAM2", 0.0)
        model = self.model
        target, reference = request.target, request.references[0]
        axis = slice_axis(target, self.slice_axis)
        reference_axis = matching_axis(reference.image, target, axis)
        size = self.style.size
        reference_geometry = SliceGeometry.of(reference.image, reference_axis, size)
        target_geometry = SliceGeometry.of(target, axis, size)

        missing, reference_slices = {}, {}
        for structure in request.labels():
            mask = reference.segmentation.mask(structure.name)
            localization = (localizations or {}).get(structure.name)
            if not mask.any():
                missing[structure.name] = f"empty in reference {reference.name!r}"
            elif localization is not None and not localization.present:
                missing[structure.name] = f"not found by {localization.source or 'the localizer'}"
            else:
                areas = mask.sum(axis=tuple(a for a in range(3) if a != reference_axis))
                reference_slices[structure.name] = int(np.argmax(areas))

        distinct = sorted(set(reference_slices.values()))
        reference_window = intensity_window(reference.image.array, self.window)
        target_window = intensity_window(target.array, self.window)
        sources = [SliceSource(reference.image, reference_axis, r, reference_window, reference_geometry) for r in distinct]
        sources += [SliceSource(target, axis, k, target_window, target_geometry) for k in range(target.shape[axis])]
        frames = Frames(sources, str(model.device), model.dtype, self.style.mean, self.style.std)
        cache = FeatureCache(self.cache_frames, pinned=range(len(distinct)))
        tracker = Tracker(model, frames, cache, self.objects_per_pass)
        session = Sam2Session(tracker, target, axis, target_geometry, len(distinct), self.name)

        import torch

        conditioning = {}
        for name, r in reference_slices.items():
            structure = request.labels().get(name)
            plan = make_plan(structure, (localizations or {}).get(name), session, (r + 0.5) / reference.image.shape[reference_axis])
            if plan is None:
                missing[name] = "its localization box lies outside the target image"
                continue
            session.plans[name] = plan
            plane = torch.from_numpy(take_slice(reference.segmentation.mask(name), reference_axis, r).astype(np.float32))
            conditioning[name] = (distinct.index(r), (reference_geometry.to_frame(plane) >= 0.5).to(model.device, model.dtype))
        tracker.add_structures(conditioning)

        found = session.run(list(session.plans), progress) if session.plans else {}
        structures = [
            found.get(s.name) or StructureResult(s, None, 0.0, self.name, message=missing.get(s.name, ""))
            for s in request.labels()
        ]
        details = {
            "model": self.source.name,
            "model_class": type(model).__name__,
            "device": str(model.device),
            "slice_axis": "kji"[axis],
            "frames_encoded": cache.encoded,
            "slices_visited": {n: [min(v), max(v)] if v else None for n, v in session.visited.items()},
        }
        return Result(target, structures, self.name, time.perf_counter() - started, details, session)


def make_plan(structure, localization: Localization | None, session: Sam2Session, reference_position: float) -> Plan | None:
    """Start slice and box prompts for one structure; None when all its boxes miss the target."""
    slices = session.slices
    if localization is None or (not localization.slice_boxes and localization.box is None):
        start = min(slices - 1, int(reference_position * slices)) if slices > 1 else 0
        return Plan(structure, start)
    boxes = slice_boxes_along(localization, session.target, session.axis)
    if not boxes:
        return None
    prompts = {}
    for k, (row0, col0, row1, col1) in boxes.items():
        x0, y0, x1, y1 = session.geometry.box_to_frame(row0, col0, row1, col1)
        prompts[k] = _box_inputs(x0, y0, x1, y1)
    start = max(boxes, key=lambda k: (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1]))
    return Plan(structure, start, prompts, localization.source or "boxes")


def slice_boxes_along(localization: Localization, target: Image, axis: int) -> dict[int, tuple[int, int, int, int]]:
    """Per-slice (row0, col0, row1, col1) boxes along ``axis``, clipped to the target; empty ones dropped.

    Per-slice boxes (given along k) are rasterised and re-cut along ``axis``; a lone 3D box prompts
    only its middle slice.
    """
    raster = np.zeros(target.shape, dtype=bool)
    if localization.slice_boxes:
        for k, box in localization.slice_boxes.items():
            if 0 <= k < target.shape[0]:
                _, rows, cols = box.clip(target).slices()
                raster[k, rows, cols] = True
    else:
        box = localization.box.clip(target)
        if not box.empty:
            middle = (box.lower[2 - axis] + box.upper[2 - axis] - 1) // 2
            key = list(box.slices())
            key[axis] = slice(middle, middle + 1)
            raster[tuple(key)] = True
    boxes = {}
    for k in np.flatnonzero(raster.any(axis=tuple(a for a in range(3) if a != axis))):
        plane = np.take(raster, k, axis=axis)
        found = Box.from_mask(plane[np.newaxis])
        boxes[int(k)] = (found.lower[1], found.lower[0], found.upper[1], found.upper[0])
    return boxes


def _box_inputs(x0: float, y0: float, x1: float, y1: float) -> dict:
    """SAM2 point inputs for one box (corners labelled 2 and 3)."""
    import torch

    return {
        "point_coords": torch.tensor([[[[x0, y0], [x1, y1]]]], dtype=torch.float32),
        "point_labels": torch.tensor([[[2, 3]]], dtype=torch.int32),
    }
