"""The classical engine: register each reference onto the target, warp its labels, rank and fuse.

Needs no model weights, runs on the CPU, and serves as the default and the baseline.
:class:`RegistrationLocalizer` offers the same work as boxes (and per-slice boxes)
for engines that segment with another model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from rau.body import BodyCheck, off_body_message
from rau.boxes import Box
from rau.correction import attach_session
from rau.engines.base import Engine, Localization, Localizer, Progress, Reference, Request, best_first, validate_request
from rau.fusion import fuse
from rau.image import Image, from_lps_order, orient_lps
from rau.label_transfer import SoftMask, warp_image, warp_structures
from rau.labels import Structure, normalize_name
from rau.options import DEFAULT_FUSION, DEFAULTS, FUSION_METHODS, EngineOptions, checked_option
from rau.registration import UPRIGHT, Registration, RegistrationSettings, register
from rau.registration_metric import MIN_CORRELATION_OVERLAP_VOXELS
from rau.result import Result, StructureResult
from rau.run_copies import RunCopies
from rau.selection import MIN_REFERENCES, consensus_scores
from rau.user_warnings import warn


REGISTERING_SHARE = 0.5
"""The share of a reference's :func:`transfer` reported for its registration; warping its structures, the rest."""


@dataclass
class Transfer:
    """One reference's labels on the target, with how well its image matched."""

    reference: Reference
    registration: Registration
    masks: dict[str, SoftMask | None]


class RegistrationEngine(Engine):
    """Registration-based label transfer; several references are ranked and the ``top_k`` best fused."""

    name = "registration"
    label = "Registration"

    def __init__(self, settings: RegistrationSettings = RegistrationSettings(), top_k: int = DEFAULTS.top_k, fusion: str = DEFAULT_FUSION, keep_transfers: bool = False):
        """``keep_transfers`` adds every reference's own masks to ``Result.details["transfers"]`` (for evaluation)
        when there are several references; one reference's masks are the result itself, and ranking needs two."""
        self.settings, self.keep_transfers = settings, keep_transfers
        self.top_k, self.fusion = checked_option("top_k", top_k), checked_option("fusion", fusion)

    @classmethod
    def from_options(cls, options: EngineOptions) -> "RegistrationEngine":
        settings = replace(RegistrationSettings(), deformable=options.deformable)
        return cls(settings, options.top_k, options.fusion, options.keep_transfers)

    def run(self, request: Request, progress: Progress | None = None) -> Result:
        progress = progress or Progress()
        validate_request(request, registered=True)
        started = time.perf_counter()
        names = request.labels().names
        fused = contending(request)
        settings = self.settings_for(asked_holders(request))
        target = orient_lps(request.target)  # the labels are carried and fused in LPS voxel order: one answer whatever the file's
        warped = request.counted() if len(request.references) >= MIN_REFERENCES else fused  # fewer: no label consensus
        transfers = _transfers(request, target, [s.name for s in warped], settings, progress, "registering", len(request.references) + 1)
        ranked = rank(transfers, names)
        voters = {s.name: voters_for(s.name, [t for t, _ in ranked], self.top_k) for s in fused}
        fusing = progress.part(len(request.references), len(request.references) + 1)
        fusing("fusing labels", 0.0)
        evidence = self._local_evidence(target, list({id(t): t for chosen in voters.values() for t in chosen}.values()))
        bodies = BodyCheck(target) if target.ndim == 3 else None
        structures = []
        for structure in fused:
            structures.append(self._fuse_structure(target, request, structure, voters[structure.name], evidence, bodies))
            fusing("fusing labels", len(structures) / len(fused))  # each structure: Cancel stops at the next
            if not self.keeps_transfers(transfers):
                for t in voters[structure.name]:  # fused: its warped probabilities are needed no more
                    t.masks.pop(structure.name, None)
        by_name = {item.structure.name: item for item in resolve_overlaps(structures, request, target.shape)}
        structures = [by_name[name] for name in names]
        result = Result(
            request.target,
            [replace(item, mask=from_lps_order(request.target, item.mask), box=None) if item.found else item for item in structures],
            self.name,
            time.perf_counter() - started,
            details={"ranking": _ranking_details(ranked)},
        )
        if self.keeps_transfers(transfers):
            result.details["transfers"] = {t.reference.name: {n: from_lps_order(request.target, t.masks[n].inside(target.shape)) if t.masks[n] else None
                                                              for n in names if n in t.masks} for t in transfers}
        progress("fusing labels", 1.0)  # not "done": in a pipeline the run goes on
        return attach_session(result)

    def keeps_transfers(self, transfers: list[Transfer]) -> bool:
        """Whether :meth:`run` keeps the references' own masks: asked to (``keep_transfers``), and of several references."""
        return self.keep_transfers and len(transfers) > 1

    def ranked_references(self, request: Request, progress: Progress | None = None) -> tuple[Request, list[dict]]:
        """``request`` with its references in :func:`rank` order, and that ranking as :meth:`run` records it
        (``details["ranking"]``; empty for one reference).

        One reference needs no ranking and costs nothing; two are registered only (the
        similarity ranks them); from :data:`rau.selection.MIN_REFERENCES` on, the structures
        ranked on (:meth:`~rau.engines.base.Request.counted`) are warped too, for their label consensus.
        """
        validate_request(request)
        if len(request.references) < 2:
            return request, []
        progress = progress or Progress()
        names = [s.name for s in request.counted()] if len(request.references) >= MIN_REFERENCES else []
        asked = request.labels().names
        settings = self.settings_for(asked_holders(request))
        target = orient_lps(request.target)  # as run() does
        transfers = _transfers(request, target, names, settings, progress, "ranking references: registering", len(request.references))
        ranked = rank(transfers, asked)
        return request.ranked([t.reference for t, _ in ranked]), _ranking_details(ranked)

    def settings_for(self, references: list[Reference]) -> RegistrationSettings:
        """The registration settings for these references (those holding an asked structure, :func:`asked_holders`: one
        that holds none adds no pose of it): a pool of two or more registers upright only.

        A single reference gets the turned 2D starts (:attr:`RegistrationSettings.start_angles`): it is the
        only pose search there is (HC18, 20 single pairs: Dice 0.554 upright only, 0.647 turned). A pool
        spans poses itself, and there the turned fits that fail agree with each other and mislead the label
        consensus: a small fetal head under a bright placenta drew most references to one turned pose on the
        placenta, and the fused HC18 result fell from 0.855 to 0.834.
        """
        return self.settings if len(references) < 2 else replace(self.settings, start_angles=UPRIGHT)

    def _local_evidence(self, target: Image, chosen: list[Transfer]) -> dict:
        """For local fusion of several references: the target's intensities and each reference warped onto it."""
        if self.fusion != "local" or len(chosen) < 2:
            return {}
        warped = {t.reference.name: warp_image(t.reference.image, target, t.registration.transform) for t in chosen}
        return {"target": np.asarray(target.array, np.float32), "warped": warped}

    def _fuse_structure(self, target: Image, request: Request, structure: Structure, chosen: list[Transfer], evidence: dict,
                        bodies: BodyCheck | None) -> StructureResult:
        """One structure on ``target`` (the request's target in LPS voxel order) from the references ``chosen``;
        on a volume (``bodies``), one drawn mostly on the air beside the target's body is flagged (:mod:`rau.body`)."""
        name = structure.name
        landing = [t for t in chosen if t.masks.get(name) is not None]
        landed = [t.masks[name] for t in landing]
        references = [t.reference.name for t in chosen]
        prompts = {"references": references, "similarity": [round(t.registration.similarity, 4) for t in chosen]}
        if not landed:
            drawn = any(t.reference.segmentation.has_voxels(name) for t in chosen)
            message = ("covers no target voxel by half after registration: it lands outside the target, or it is smaller "
                       "than the target's voxels there" if drawn else request.no_voxels_message())
            return StructureResult(structure, None, 0.0, self.name, prompts, message=message)
        warped = [evidence["warped"][t.reference.name] for t in landing] if evidence else None
        fused, agreement = fuse(landed, self.fusion, evidence.get("target"), warped)
        mask = fused.inside(target.shape)
        confidence = agreement * len(landed) / len(chosen) if len(chosen) > 1 else max(chosen[0].registration.similarity, 0.0)
        others = " or ".join(method for method in FUSION_METHODS if method != self.fusion)
        message = "" if mask.any() or len(landed) < 2 else (
            f"the {len(landed)} references that place it agree on no voxel with {self.fusion} fusion; --fusion {others}, "
            "or a smaller --top-k, may find it")
        inside = bodies.off_body(mask, name, [t.reference for t in landing]) if bodies and mask.any() else None
        if inside is not None:
            confidence, message = confidence * inside, off_body_message(inside, len(landing))
        return StructureResult(structure, mask, confidence, self.name, prompts, message=message)


def voters_for(name: str, ranked: list[Transfer], top_k: int) -> list[Transfer]:
    """The references fused for one structure: the ``top_k`` best ranked of those that have it (a structure drawn
    in a few references only is found from them, whatever the others are ranked), else the ``top_k`` best."""
    holders = [t for t in ranked if name in t.masks]
    return holders[:top_k] or ranked[:top_k]


def _ranking_details(ranked: list[tuple[Transfer, float]]) -> list[dict]:
    """:func:`rank`'s order as a result records it: each reference's name, score, image similarity and seconds."""
    return [{"reference": t.reference.name, "score": round(score, 4), "similarity": round(t.registration.similarity, 4),
             "seconds": round(t.registration.seconds, 3)} for t, score in ranked]


def warn_unjudged(transfers: list[Transfer], target_called: str) -> None:
    """Warn of each reference whose placement on the target (``target_called``) its image similarity could not judge
    (:attr:`rau.registration.Registration.judged`): its similarity, and a confidence taken from it, say nothing."""
    for t in transfers:
        if not t.registration.judged:
            warn(f"the placement of reference {t.reference.name!r} on {target_called} could not be judged: after registration "
                 f"the images overlap in fewer than {MIN_CORRELATION_OVERLAP_VOXELS} voxels around its labels, the fewest its image "
                 f"similarity is measured on, so that similarity ({t.registration.similarity:g}) and a confidence taken "
                 "from it (0) say nothing of the fit")


def rank(transfers: list[Transfer], asked: list[str]) -> list[tuple[Transfer, float]]:
    """The registration ranking of references: the best expected result first, each with its score. The registration
    engine ranks by it, and so, through :meth:`RegistrationEngine.ranked_references`, do the SAM2 engines and the
    ``rau`` and ``vlm-box`` engines; the vessels engine ranks by its own tree match instead
    (:class:`rau.engines.vessels.VesselEngine`, whose ranking gives that match as both score and similarity).

    When some structure is held by :data:`rau.selection.MIN_REFERENCES` references or more, the score is the
    reference's agreement with the label consensus of all (:func:`rau.selection.consensus_scores`, seeded by
    the image similarity); else there is no consensus and the image similarity after registration is the score. Equal
    scores keep the similarity order, and equal similarities go by the references' digests (:func:`best_first`), not
    by the order the references were given in. A reference with voxels of none of the ``asked`` structures (the
    request's, :meth:`~rau.engines.base.Request.labels`) ranks after every one that has some, whatever its score, their
    own order kept: it answers for none of them. The registration engine fuses, for each structure, the first
    ``top_k`` that have it (:func:`voters_for`); the SAM2 engines put those in SAM2's memory and the ``rau`` and
    ``vlm-box`` engines ask the VLM about it with the first that has it (:func:`rau.vlm.localizer.reference_turns`;
    see :meth:`RegistrationEngine.ranked_references`).
    """
    by_similarity = best_first(transfers, lambda t: t.registration.similarity, lambda t: t.reference)
    similarity = [t.registration.similarity for t in by_similarity]
    scores = consensus_scores([t.masks for t in by_similarity], similarity)
    scores = similarity if scores is None else scores
    scored = sorted(zip(by_similarity, scores), key=lambda pair: pair[1], reverse=True)
    return sorted(scored, key=lambda pair: not holds_any(pair[0].reference, asked))  # stable: each part keeps its order


def holds_any(reference: Reference, asked: list[str]) -> bool:
    """Whether ``reference`` has voxels of any of the ``asked`` structures."""
    return any(reference.segmentation.has_voxels(name) for name in asked)


def asked_holders(request: Request) -> list[Reference]:
    """The references of ``request`` with voxels of any structure it asks for (:func:`holds_any`)."""
    return [reference for reference in request.references if holds_any(reference, request.labels().names)]


def share_reporter(progress: Progress, step: str, index: int, count: int) -> Callable[[float], None]:
    """``report(share)`` for the ``index``-th of ``count`` equal parts of a run: ``share`` of that part done."""
    part = progress.part(index, count)
    return lambda share: part(step, share)


def _transfers(request: Request, target: Image, names: list[str], settings: RegistrationSettings, progress: Progress,
               doing: str, parts: int) -> list[Transfer]:
    """:func:`transfer` of each reference of ``request`` onto ``target``, in order; the ``index``-th reports
    ``doing NAME`` as the ``index``-th of ``parts`` equal parts of the run. A placement the image similarity could not
    judge is warned of (:func:`warn_unjudged`), also when the transfers only rank references for another engine.
    A structure a reference holds as a copy of an earlier one's (:func:`uncopied`) is not warped: it counts once."""
    copies = RunCopies()  # the target's working copies, made once for all references and let go with the run
    transfers = [transfer(reference, target, uncopied(request.references, index, names), settings,
                          share_reporter(progress, f"{doing} {reference.name}", index, parts), copies)
                 for index, reference in enumerate(request.references)]
    warn_unjudged(transfers, request.target_called())
    return transfers


def uncopied(references: list[Reference], index: int, names: list[str]) -> list[str]:
    """``names`` less those the ``index``-th reference holds as a copy of an earlier reference's
    (:meth:`~rau.engines.base.Reference.shared_structures`: the same image and voxels). A copy of an asked structure is
    refused (:func:`~rau.engines.base.check_references`); one of another structure the references are ranked on
    (:meth:`~rau.engines.base.Request.counted`) is served, and would otherwise vote twice in the label consensus."""
    reference = references[index]
    copied = {normalize_name(name) for earlier in references[:index] for name in reference.shared_structures(earlier, names)}
    return [name for name in names if normalize_name(name) not in copied]


def transfer(reference: Reference, target: Image, names: list[str], settings: RegistrationSettings,
             report: Callable[[float], None] | None = None, copies: RunCopies | None = None) -> Transfer:
    """Register one reference onto the target and warp the named structures; ``report(share)`` with the share
    done, from 0 to 1, between stages (:func:`rau.registration.register`; it may raise to stop); ``copies``: the run's
    target copies (:class:`rau.run_copies.RunCopies`).

    The registration focuses on all of the reference's labelled anatomy, not only the named
    structures, so asking for a subset gives the same alignment as asking for all. A structure the
    reference lacks, or lists without voxels (a shared label table names it), is not warped: it has
    nothing to say about that structure, in the ranking or the fusion.
    """
    present = [n for n in names if reference.segmentation.has_voxels(n)]
    report = report or (lambda share: None)
    report(0.0)
    registration = register(target, reference.image, settings, moving_focus=reference.labelled_anatomy(),
                            report=lambda share: report(share * REGISTERING_SHARE), copies=copies)
    warped = warp_structures(reference.segmentation, present, target, registration.transform,
                             lambda share: report(REGISTERING_SHARE + (1 - REGISTERING_SHARE) * share))
    report(1.0)
    return Transfer(reference, registration, warped)


def contending(request: Request) -> list[Structure]:
    """The structures fused for ``request``, in :meth:`~rau.engines.base.Request.counted` order: up to the last one
    asked for, as those after it cannot take its voxels (:func:`resolve_overlaps`)."""
    counted, asked = request.counted(), set(request.labels().names)
    last = max((index for index, structure in enumerate(counted) if structure.name in asked), default=-1)
    return counted[: last + 1]


def resolve_overlaps(structures: list[StructureResult], request: Request, shape: tuple) -> list[StructureResult]:
    """Where references keep structures apart, give each contested voxel (masks of ``shape``) to one structure only.

    Interpolation makes neighbouring warped structures overlap by a voxel or so, and STAPLE or local fusion may
    give two structures one voxel; the structure first in :meth:`~rau.engines.base.Request.counted` order keeps it
    (``structures`` are in that order), whichever are asked for. References whose own masks overlap (Slicer layers)
    keep their overlaps.
    """
    if references_overlap(request.references, [structure.name for structure in request.counted()]):
        return structures
    taken = np.zeros(shape, bool)
    for item in structures:
        if item.found:  # within its box, in place: no full-size copy of each mask
            inside = item.box.slices()
            mask, before = item.mask[inside], taken[inside]
            np.logical_and(mask, np.logical_not(before), out=mask)
            np.logical_or(before, mask, out=before)
            item.box = item.box.tightest_within(item.mask)
            if item.box is None:
                item.mask, item.message = None, "covered by neighbouring structures"
    return structures


def references_overlap(references: list[Reference], names: list[str]) -> bool:
    """True when any reference has a voxel in two of the structures ``names`` (those that count, asked for or not:
    :meth:`~rau.engines.base.Request.counted`)."""
    return any(reference.segmentation.overlaps(names) for reference in references)


class RegistrationLocalizer(Localizer):
    """Presence, a box and per-slice boxes per structure, from registration label transfer."""

    def __init__(self, engine: RegistrationEngine):
        self.engine = engine

    @classmethod
    def from_options(cls, options: EngineOptions) -> "RegistrationLocalizer":
        return cls(RegistrationEngine.from_options(options))

    def localize(self, request: Request, progress: Progress) -> dict[str, Localization]:
        return self.localize_ranked(request, progress)[0]

    def localize_ranked(self, request: Request, progress: Progress) -> tuple[dict[str, Localization], list[dict]]:
        """The localizations, and the registration engine's ranking of the references."""
        result = self.engine.run(request, progress)
        return {item.structure.name: localization_from(item) for item in result.structures}, result.details["ranking"]


def localization_from(item: StructureResult) -> Localization:
    """A structure result seen as a localization: its box and its voxels, which a segmenter boxes on each slice it cuts
    (before, its box on every slice k of the file, which a segmenter cutting along another file axis filled in:
    the same CT stored PIR instead of LPS was prompted with other boxes)."""
    if not item.found:
        return Localization(item.structure, False, confidence=item.confidence, source="registration", reason=item.message)
    references = list(item.prompts.get("references", []))  # the top-k references, in rank order
    return Localization(item.structure, True, item.box, item.confidence, source="registration", references=references, mask=item.mask)
