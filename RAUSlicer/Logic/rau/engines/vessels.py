"""The vessel engine: name the coronary segments of a 2D angiogram from annotated references.

Weight-free, CPU only. Steps (:mod:`rau.vessels`): the target's vesselness and vessel mask; each
reference's labelled tree aligned onto the target's vessels (the alignment's correlation ranks the
references: the tree match); for each segment, the ``top_k`` best-ranked references that have it
are chosen (:func:`per_segment_top`) and each chosen reference traces its segments along the
target's vessels; per segment, the chosen references that have it vote on presence (weighted by
tree match) and the centreline closest to the others' is kept; centrelines are grown to the vessel width.

Every picture is analysed on its working grid (:mod:`rau.vessels.grid`: longest side 512 px, the size
the pixel constants were chosen at); masks, centrelines and corrections are on the target's own grid, and so is its
contrast to noise (:data:`~rau.vessels.vesselness.MIN_CONTRAST_TO_NOISE`).

Options: ``top_k`` (references per segment, the common default) and ``deformable`` (B-spline stage, default on).
The result's ``session`` (:class:`~rau.vessels.session.VesselSession`) takes vessel corrections;
``details["centrelines"]`` keeps each found segment's centreline ((N, 2) rows/cols).

``vessels+sam2`` (:class:`VesselSam2Engine`) gives SAM2 each found segment's box plus points along its
centreline, positive on the segment and negative on the neighbouring segments.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rau.boxes import Box
from rau.engines.base import Engine, Localization, Localizer, PipelineEngine, Progress, Reference, ReferenceInputError, Request, best_first, validate_request
from rau.errors import InputError, sizes_text
from rau.image import GeometryError
from rau.options import DEFAULTS, EngineOptions, checked_option
from rau.result import Result, StructureResult
from rau.user_warnings import warn
from rau.vessels.alignment import START_SCALES, Alignment, align_tree, bend
from rau.vessels.grid import WorkingGrid
from rau.vessels.naming import BEYOND_PIXELS, Naming, name_segments
from rau.vessels.paths import paint
from rau.vessels.prompts import centreline_points
from rau.vessels.session import VesselSession, check_points_only
from rau.vessels.topology import segment_tree
from rau.vessels.vesselness import MIN_CONTRAST_TO_NOISE, contrast_to_noise, vessel_mask, vesselness

NO_SUPPORT = "no support along the target's vessels"
"""Why a segment the references have is not found: its traced path does not run on the target's vessels."""
COVERED = ("lies under other segments in every pixel of the reference: the vessels engine names each vessel pixel once "
           "(where segments overlap, the smaller keeps its pixels); give it in a reference of its own")
"""Why a segment a reference has voxels of is not traced: overlapping segments (Slicer layers) cover all of them."""


@dataclass
class Candidate:
    """One reference on its working grid: its label map (segment values), its whole labelled tree, its
    alignment and, once chosen, its segments traced on the target."""

    reference: Reference
    label_map: np.ndarray
    tree: np.ndarray
    alignment: Alignment
    covered: frozenset[int] = frozenset()
    """Values of segments with voxels in the reference that other segments cover in every pixel (not traced)."""
    naming: Naming | None = None


class VesselEngine(Engine):
    """Vessel-tree label transfer for 2D angiograms (see module doc)."""

    name = "vessels"
    label = "Vessels (coronary angiograms)"
    model_session = True  # the session keeps the target's vessel maps, which only a new run rebuilds
    corrects_others = True  # a piece traced into one segment leaves the segment that held it

    def __init__(self, top_k: int = DEFAULTS.top_k, deformable: bool = DEFAULTS.deformable):
        self.top_k, self.deformable = checked_option("top_k", top_k), checked_option("deformable", deformable)

    @classmethod
    def from_options(cls, options: EngineOptions) -> "VesselEngine":
        return cls(options.top_k, options.deformable)

    @classmethod
    def check_correction(cls, prompt, target, options) -> None:
        """A vessel correction takes points only (:func:`~rau.vessels.session.check_points_only`)."""
        check_points_only(prompt)

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        progress = progress or Progress()
        check_angiograms(request)
        for line in field_of_view_warnings(request):
            warn(line)
        started = time.perf_counter()
        labels = request.labels()
        traced = traced_structures(request)
        values = {s.name: index + 1 for index, s in enumerate(traced)}
        progress("vesselness", 0.0)
        grid = WorkingGrid.of(request.target.shape[1:])
        working = grid.image(request.target.array[0])
        contrast = contrast_to_noise(request.target.array[0])  # on its own pixels: enlarging a small picture smooths its noise
        target_vesselness = vesselness(working) if contrast >= MIN_CONTRAST_TO_NOISE else np.zeros(working.shape, np.float32)
        vessels = vessel_mask(target_vesselness)
        candidates = []
        for index, reference in enumerate(request.references):
            progress(f"aligning {reference.name}", (index + 1) / (len(request.references) + 2))
            candidates.append(self._candidate(reference, values, target_vesselness))
        ranked = best_first(candidates, lambda c: c.alignment.score, lambda c: c.reference)
        ranking = [{"reference": c.reference.name, "score": round(c.alignment.score, 4), "similarity": round(c.alignment.score, 4)}
                   for c in ranked]  # the tree match, the vessel maps' similarity, ranks them (taken before the bend refits the chosen)
        chosen = [self._named(c, values, target_vesselness, vessels) for c in per_segment_top(ranked, values.values(), self.top_k)]
        progress("naming segments", 1 - 1 / (len(request.references) + 2))
        unseen = NO_SUPPORT if contrast >= MIN_CONTRAST_TO_NOISE else (
            f"the target shows no vessels: its grey range is {contrast:.1f} times its noise, under {MIN_CONTRAST_TO_NOISE:g}")
        covered = set().union(*(c.covered for c in candidates))
        lacking = {value: COVERED if value in covered else request.no_voxels_message() for value in values.values()}
        every, centrelines = fuse(chosen, traced, values, vessels, self.name, grid, self.top_k, lacking, unseen)
        structures = [next(item for item in every if item.structure.name == s.name) for s in labels]
        result = Result(
            request.target,
            structures,
            self.name,
            time.perf_counter() - started,
            details={
                "ranking": ranking,
                "centrelines": {s.name: grid.to_picture(centrelines[values[s.name]]) for s in labels if values[s.name] in centrelines},
            },
        )
        result.session = VesselSession(request.target, list(labels), {s.structure.name: s for s in structures}, target_vesselness, vessels, self.name, grid=grid)
        progress("naming segments", 1.0)  # not "done": in a pipeline the run goes on
        return result

    def _candidate(self, reference: Reference, values: dict, target_vesselness) -> Candidate:
        """The reference's whole labelled tree aligned (affine) onto the target, so asking for a few
        segments gives the same alignment as asking for all; the score ranks the reference."""
        label_map = np.zeros(reference.image.shape[1:], np.int32)
        masks = {value: reference.segmentation.masks[name][0] for name, value in values.items() if name in reference.segmentation.masks}
        for value in sorted(masks, key=lambda value: -int(masks[value].sum())):  # overlapping segments (Slicer layers): the smaller keeps its pixels
            label_map[masks[value]] = value
        covered = frozenset(value for value, mask in masks.items() if mask.any() and not (label_map == value).any())
        grid = WorkingGrid.of(label_map.shape)
        tree = grid.labels(reference.labelled_anatomy()[0])  # all its labelled vessels
        return Candidate(reference, grid.labels(label_map), tree, align_tree(target_vesselness, tree), covered)

    def _named(self, candidate: Candidate, values: dict, target_vesselness, vessels) -> Candidate:
        """A chosen reference, bent onto the target's vessels (when deformable) and its segments traced."""
        if self.deformable:
            candidate.alignment = bend(candidate.alignment, target_vesselness, candidate.tree)
        warped = candidate.alignment.warp_labels(candidate.label_map, target_vesselness.shape, BEYOND_PIXELS)
        present = [v for v in values.values() if (candidate.label_map == v).any()]
        tree = segment_tree(candidate.label_map, present)
        candidate.naming = name_segments(target_vesselness, vessels, warped, present, tree, BEYOND_PIXELS)
        return candidate


def check_angiograms(request: Request) -> None:
    """Refuse, before any work, a request the vessels engine cannot serve: besides :func:`validate_request`'s checks,
    a target that is no 2D picture, or a target or reference too small (or too elongated) to show a coronary tree
    (:meth:`~rau.vessels.grid.WorkingGrid.size_problem`)."""
    validate_request(request)
    if request.target.ndim != 2:
        raise GeometryError(f"the vessels engine segments 2D images (angiograms); {request.target_called()} is {request.target.ndim}D")
    problem = WorkingGrid.of(request.target.shape[1:]).size_problem(request.target_called())
    if problem:
        raise InputError(problem)
    for reference in request.references:
        problem = WorkingGrid.of(reference.image.shape[1:]).size_problem(f"reference {reference.name!r}")
        if problem:
            raise ReferenceInputError(problem)


def field_of_view_warnings(request: Request) -> list[str]:
    """One line per reference whose field of view (longest side, mm) the target's exceeds or falls short of by more than
    the alignment's start scales (:data:`~rau.vessels.alignment.START_SCALES`): each picture is analysed with its longest
    side at 512 px, so such a tree is drawn at the wrong size. Only where both pixel sizes are known."""
    target = request.target
    if not target.pixel_size_known:
        return []
    lines = []
    for reference in request.references:
        if not reference.image.pixel_size_known:
            continue
        ratio = max(field_mm(target)) / max(field_mm(reference.image))
        if not min(START_SCALES) <= ratio <= max(START_SCALES):
            lines.append(f"{request.target_called()} shows a field of view of {sizes_text(field_mm(target))} mm, the reference "
                         f"{reference.name!r} one of {sizes_text(field_mm(reference.image))} mm: the vessels engine matches "
                         f"angiograms by field of view, trying scales {min(START_SCALES):g}-{max(START_SCALES):g} between them, "
                         "so this target's segments are likely wrong; crop or resize the target to the reference's field")
    return lines


def field_mm(image) -> tuple[float, float]:
    """A 2D image's field of view (columns, rows) in mm."""
    return image.shape[2] * image.spacing[0], image.shape[1] * image.spacing[1]


def traced_structures(request: Request) -> list:
    """The structures a run traces and paints: every segment of the first reference, then any other asked for.
    Neighbouring segments share pixels where they meet, and who keeps them depends on who is painted: so asking for a
    few segments, in any order, gives each the pixels it has when all are asked (before, a segment asked alone took its
    neighbours' pixels)."""
    every = list(request.references[0].segmentation.present())
    return every + [s for s in request.labels() if s.name not in {t.name for t in every}]


def per_segment_top(ranked: list[Candidate], values, top_k: int) -> list[Candidate]:
    """The references that name the target: for each segment value, the ``top_k`` best-ranked
    references that have that segment (a reference without it cannot name it), in rank order.
    With one reference, or when the best ``top_k`` have every segment, these are just the best ``top_k``."""
    chosen = {id(c) for value in values for c in [c for c in ranked if (c.label_map == value).any()][:top_k]}
    return [c for c in ranked if id(c) in chosen] or ranked[:1]


def fuse(chosen: list[Candidate], labels: list, values: dict, vessels: np.ndarray, engine: str, grid: WorkingGrid, top_k: int,
         lacking: dict[int, str], unseen: str = NO_SUPPORT) -> tuple[list[StructureResult], dict[int, np.ndarray]]:
    """Per segment: presence by the vote, weighted by tree match, of its ``top_k`` best-ranked references among
    those that have the segment (``chosen`` is in rank order; one without it says nothing about it); the centreline that agrees best with the other
    references' (:func:`medoid`; among those traced on the vessels when any is, not only implied by
    the reference tree); all centrelines painted together to the vessel width.

    Confidence: the weighted share of references that found the segment times its path's support; 0 for one traced but
    left without a pixel in the answer (:func:`undrawn`).
    Masks go back to the target's grid (``grid``); also returns the kept centrelines ((N, 2) rows/cols
    on the working grid) by segment value. ``lacking``: by value, the message of a segment no reference has
    (:meth:`rau.engines.base.Request.no_voxels_message`); ``unseen``: of one the references have but the target lacks."""
    weights = np.array([max(c.alignment.score, 1e-3) for c in chosen])
    centrelines, facts = {}, {}
    for structure in labels:
        value = values[structure.name]
        have = np.array([value in c.naming.support for c in chosen])  # references that have the segment
        voters = have & (np.cumsum(have) <= top_k)  # its best top_k (another segment may have chosen more)
        found = voters & np.array([c.naming.found(value) for c in chosen])
        share = float(weights[found].sum() / weights[voters].sum()) if voters.any() else 0.0
        facts[value] = {"references": [c.reference.name for c, votes in zip(chosen, voters) if votes], "votes": round(share, 4)}
        if share < 0.5 or not found.any():
            facts[value]["confidence"] = share
            continue
        traced = found & np.array([value not in c.naming.implied for c in chosen])  # found on the vessels, not only implied by the tree
        finders = np.flatnonzero(traced if traced.any() else found)
        best = chosen[finders[medoid([chosen[i].naming.centrelines[value] for i in finders], weights[finders])]]
        centrelines[value] = best.naming.centrelines[value]
        support = min(best.naming.support[value], 1.0)
        facts[value].update(confidence=share * support, source=best.reference.name, support=round(support, 4))
    working = paint(centrelines, vessels, vessels.shape)
    label_map = grid.back(working)
    results = []
    for structure in labels:
        value = values[structure.name]
        fact = facts[value]
        message = "" if value in centrelines else unseen if fact["references"] else lacking[value]
        if value in centrelines and not (label_map == value).any():  # traced, but no pixel of its own on the target
            message = undrawn(value, working, grid)
            fact["confidence"] = 0.0  # vote share x on-vessel share of what the target shows of it: nothing
            del centrelines[value]
        mask = (label_map == value)[None] if value in centrelines else None
        prompts = {k: v for k, v in fact.items() if k != "confidence"}
        results.append(StructureResult(structure, mask, round(float(fact["confidence"]), 4), engine, prompts, message=message))
    return results, centrelines


def undrawn(value: int, working: np.ndarray, grid: WorkingGrid) -> str:
    """Why a segment traced on the target's vessels has no pixel in the answer: other segments' paint covers its path on
    the working grid, or its pieces are too thin to show when drawn back on the target's own, coarser grid."""
    if not (working == value).any():
        return "its traced path lies under other segments, which name those vessel pixels"
    rows, cols = grid.shape
    return (f"its traced pieces vanish when drawn back on the target's grid ({cols} x {rows} pixels, "
            f"traced at {grid.working[1]} x {grid.working[0]})")


def medoid(paths: list[np.ndarray], weights: np.ndarray) -> int:
    """Index of the path closest, in weighted mean distance, to all the others (the first on ties).

    Distance between two paths: the mean distance from each point of one to the nearest point of
    the other, averaged both ways. One path: index 0."""
    from scipy.spatial.distance import cdist

    if len(paths) < 3:
        return 0
    gaps = np.zeros((len(paths), len(paths)))
    for a in range(len(paths)):
        for b in range(a + 1, len(paths)):
            pairwise = cdist(paths[a], paths[b])
            gaps[a, b] = gaps[b, a] = (pairwise.min(axis=1).mean() + pairwise.min(axis=0).mean()) / 2
    return int(np.argmin(gaps @ weights))


class VesselLocalizer(Localizer):
    """Presence, box and centreline points per segment, from the vessel engine."""

    def __init__(self, engine: VesselEngine):
        self.engine = engine

    def localize(self, request: Request, progress: Progress) -> dict[str, Localization]:
        return self.localize_ranked(request, progress)[0]

    def localize_ranked(self, request: Request, progress: Progress) -> tuple[dict[str, Localization], list[dict]]:
        """The localizations, and the vessel engine's ranking of the references (by tree match)."""
        result = self.engine.run(request, progress)
        centrelines = result.details["centrelines"]
        localizations = {}
        for item in result.structures:
            if not item.found:
                localizations[item.structure.name] = Localization(item.structure, False, confidence=item.confidence, source="vessels")
                continue
            box = Box.from_mask(item.mask)
            points = centreline_points(centrelines, item.structure.name)
            localizations[item.structure.name] = Localization(item.structure, True, box, item.confidence, {0: box}, "vessels", slice_points={0: points})
        return localizations, result.details["ranking"]


class VesselSam2Engine(PipelineEngine):
    """The vessel engine's boxes and centreline points as SAM2 prompts (reference in SAM2's memory)."""

    name = "vessels+sam2"
    uses_sam2 = True
    label = "Vessels + SAM2"
    requires = ("torch", "transformers")
    model_session = True

    @classmethod
    def from_options(cls, options: EngineOptions) -> "VesselSam2Engine":
        from rau.sam2.segmenter import Sam2Segmenter

        return cls(VesselLocalizer(VesselEngine.from_options(options)), Sam2Segmenter.from_options(options, name=cls.name), cls.name)
