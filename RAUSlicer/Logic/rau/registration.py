"""Classical image registration of a reference (moving) onto a target (fixed), with SimpleITK.

Stages, all driven by Mattes mutual information (so modalities may differ), on
smoothed working copies of about ``working_size`` voxels a side. In volumes the metric
is restricted to the reference's labelled anatomy plus a margin (``moving_focus``): a
scan covers much more than the labels. A 2D picture is framed on its anatomy by the
operator, so all of it is context (on the angiograms the mask cost 0.02 Dice). Volumes are
registered in LPS voxel order (:func:`rau.image.orient_lps`, a lossless reordering), so one
scan stored in another voxel order by another converter gets the same answer, and in the target's own
frame (:mod:`rau.scene_frame`), so a scene turned as a whole gets the same answer.

1. **Global initialization**: several starting similarity transforms (headers,
   grid centres, foreground centroids and a translation search for volumes, centred
   scales between 1 and the field-of-view ratio, each also turned by
   :attr:`RegistrationSettings.start_angles`, for 2D); each is optimized on the coarsest level and the best
   mutual information wins (on 20 HC18 pairs this beat refining three 2D starts and
   choosing by correlation: Dice 0.544 against 0.518). A volume's start stays as it is
   when its coarse fit lowers the correlation, and a picture's fit goes back to where its last pyramid level
   began when that level lost most of the mutual information (:func:`_collapsed`). A turned winner must also win
   after refinement (:func:`_upright_unless_turn_holds`). Scans may start hundreds of
   millimetres apart, or one may be a thin slab.
2. **Affine**, multi-resolution; an axis only a few voxels thick keeps the
   similarity stage's scaling (a slab is not squashed). Each refinement is kept only
   if it raises the correlation (an optimizer can drift off on speckle; a volume's absolute, so an inverted contrast
   fits as the same one does); for a slab, unless it
   lowers it by more than :data:`SLAB_TOLERANCE`.
3. **Dense displacement field** (optional; skipped for slabs, which do not constrain it):
   greedy, smoothed, as ANTs' SyN stage; in volumes inverse-consistent, as SyN is symmetric, in pictures with a
   last level at the full working resolution (:func:`field_stage`).

The linear metric samples a quarter of the working voxels at random with a fixed seed
(sampling on the grid itself creates false optima). ITK runs on one thread during
:func:`register`, so results are bit-identical across runs and thread counts (the starts' coarse fits run side by
side on Python threads, each on its own one ITK thread: :func:`_coarse_fits`).
The result maps target points to reference points, which is what
:func:`SimpleITK.Resample` needs to pull reference labels onto the target.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import SimpleITK as sitk

from rau.cpu_share import fit_threads
from rau.dense_fields import dense_field, fine_field
from rau.errors import InputError
from rau.image import Image, orient_lps_mask
from rau.itk_threads import one_itk_thread
from rau.long_scan import long_scan_placement
from rau.registration_metric import correlation, correlation_score, judged_correlation, mattes_method, mutual_information_cost
from rau.run_copies import RunCopies
from rau.scene_frame import framed, in_frame, to_world, without_header_noise
from rau.validation import blank_image_problem
from rau.working_images import SMOOTHABLE_VOXELS, focus_mask, foreground_centroid, lps_without_outliers, smoothable, working_image, working_size


MIN_LEVEL_VOXELS = 2048
"""Coarse pyramid levels with fewer target voxels are skipped: too few samples for the metric."""
THIN_AXIS_VOXELS = 16
"""Working-grid axes that would have fewer voxels than this at the grid's finest spacing count as thin (a slab);
see :func:`thin_axes`."""
SLAB_TOLERANCE = 0.25
"""How far a refinement of a slab may lower the correlation and still be kept. A slab's few slices judge a
refinement poorly (TotalSegmentator CT slab: Dice 0.156 with each refinement judged strictly, 0.175 with
none judged), but unjudged, the affine stage of a 2-slice target collapsed (correlation 0.999 -> 0.126,
liver Dice 0.41 on a copy of the reference's own slices; 1.000 with this tolerance)."""
UPRIGHT = (0.0,)
"""The only start angle of a pool's registrations (see :attr:`RegistrationSettings.start_angles`)."""
COLLAPSED_SHARE = 0.5
"""A picture's coarse fit that keeps less than this share of the mutual information its last pyramid level began with
has left the anatomy (:func:`_collapsed`)."""


class RegistrationError(InputError, RuntimeError):
    """Registration found no usable alignment."""


@dataclass(frozen=True)
class RegistrationSettings:
    """Knobs of :func:`register`; the defaults serve 2D ultrasound and 3D CT/MR alike."""

    deformable: bool = True
    working_size: int = 128
    min_working_spacing: float = 3.0
    search_steps: int = 4
    starts: int = 3
    start_angles: tuple[float, ...] = (0.0, 30.0, -30.0)
    """In-plane turns (degrees) of the 2D starts. The anatomy in a picture lies at the angle the probe or
    the projection gave it (fetal heads at any angle, angiograms at various views), and a similarity fit
    from one start only corrects a turn of about half the step between starts. A pool of references
    registers with :data:`UPRIGHT` only (see :class:`rau.engines.registration.RegistrationEngine`)."""
    focus_margin: float = 0.25
    affine_iterations: int = 100
    field_iterations: int = 30
    field_update_sigma: float = 3.0
    field_total_sigma: float = 0.0
    field_step: float = 0.5
    fine_field_iterations: int = 5
    """Steps of a picture's last field level, at the full working resolution (:func:`rau.dense_fields.fine_field`)."""
    fine_field_update_sigma: float = 4.0
    """How far (voxels of the full working grid) each update of that level is smoothed."""


@dataclass
class Registration:
    """A transform from target (fixed) space to reference (moving) space, and how well it fits."""

    transform: sitk.Transform
    similarity: float
    seconds: float
    judged: bool = True
    """False when the images overlap too little for the similarity to judge the fit
    (:data:`rau.registration_metric.MIN_CORRELATION_OVERLAP_VOXELS`)."""


def register(fixed: Image, moving: Image, settings: RegistrationSettings = RegistrationSettings(), moving_focus: np.ndarray | None = None,
             report: Callable[[float], None] | None = None, copies: RunCopies | None = None) -> Registration:
    """Register ``moving`` (a reference) onto ``fixed`` (the target).

    ``moving_focus`` (a boolean array on the moving grid, e.g. the reference's labels)
    restricts the metric to a margin around it, so the fit serves the labelled anatomy.
    Starts are optimized and compared on the coarsest of up to three working sizes (1/4, 1/2
    and the full working size; sizes with too few voxels are skipped); the winner is refined size
    by size as a similarity, then as an affine transform (each optimization with its own shrink
    pyramid, each step kept only if it raises the correlation), then a displacement field is added. ITK runs on one thread meanwhile
    (the starts side by side, each on one: :func:`_coarse_fits`), so the result is bit-identical from run to run
    (:func:`one_itk_thread`).

    ``report(share)`` is called between stages with the share of the work done; it may raise to stop the
    registration there (a cancelled :class:`~rau.engines.base.Progress`). ``copies``: a run's (:mod:`rau.run_copies`).
    """
    with one_itk_thread():
        return _register(fixed, moving, settings, moving_focus, report or (lambda share: None), copies or RunCopies())


def _register(fixed: Image, moving: Image, settings: RegistrationSettings, moving_focus: np.ndarray | None,
              report: Callable[[float], None], copies: RunCopies) -> Registration:
    started = time.perf_counter()
    for image, role in ((fixed, "the target"), (moving, "the reference")):
        problem = blank_image_problem(image, f"{role} image")
        if problem:
            raise RegistrationError(problem)
    if moving_focus is not None:
        moving_focus = orient_lps_mask(moving, moving_focus)
    fixed, rotation = copies.of(framed, copies.of(lps_without_outliers, fixed))  # in the target's own frame (rau.scene_frame)
    moving = in_frame(lps_without_outliers(moving), rotation)
    labels = moving_focus
    if fixed.ndim == 2:
        moving_focus = None  # a 2D picture is framed on its anatomy: all of it is context (see module doc)
    sizes = [size for size in (settings.working_size // 4, settings.working_size // 2) if np.prod(working_size(fixed, size, settings.min_working_spacing)) >= MIN_LEVEL_VOXELS]
    levels = [Level.build(copies.of(working_image, fixed, size, settings.min_working_spacing), moving, moving_focus, size, settings) for size in sizes + [settings.working_size]]
    report(0.1)
    finest = levels[-1]
    # A volume's correlation is absolute: a stage that fits a pair of inverted contrast better lowers the signed value
    # (a CT against its negative: every stage thrown away, Dice 0.60 against 0.95, every confidence 0); on every dev
    # volume set the absolute value gives the same answers bit for bit. A picture's stays signed: its
    # correlation is weak and its sign carries the fit (HC18, 20 pairs: 0.647 signed, 0.629 absolute).
    absolute = fixed.ndim == 3
    score = scored_once(functools.partial(correlation, finest.fixed, finest.moving, focus=finest.focus, absolute=absolute))
    starts = initial_transforms(levels[0].fixed, levels[0].moving, settings, long_scan_placement(fixed, moving, copies))
    fits, failure = _coarse_fits(levels[0], starts, settings, score, lambda done: report(0.1 + 0.3 * done / len(starts)))
    if not fits and failure is not None:
        raise failure  # not the user's images' fault: say what it was
    if not fits:
        raise RegistrationError("reference and target do not overlap from any starting position; are they the same body region?")
    # The start with the best coarse mutual information is refined (on 20 HC18 pairs this beat refining the
    # three 2D scale starts and picking by correlation: Dice 0.544 against 0.518).
    tolerance = SLAB_TOLERANCE if thin_axes(finest.fixed) else 0.0
    better = lambda refined, before: score(refined) > score(before) - tolerance  # noqa: E731
    transform = _upright_unless_turn_holds(levels, fits, settings, better)
    report(0.6)
    if settings.deformable and not thin_axes(finest.fixed) and min(finest.moving.GetSize()) > SMOOTHABLE_VOXELS:
        transform = _or_keep(transform, lambda: field_stage(finest, transform, settings))
        report(0.95)
    # The ranking score judges the labelled anatomy, in 2D too: how alike the images are around the labels.
    around_labels = finest.focus if finest.focus is not None or labels is None else focus_mask(moving, finest.moving, labels, settings)
    value = judged_correlation(finest.fixed, finest.moving, transform, around_labels)
    transform = transform if rotation is None else to_world(transform, rotation)
    return Registration(transform, correlation_score(value, absolute), time.perf_counter() - started, judged=value is not None)


@dataclass
class Level:
    """One resolution of the pyramid: working copies of both images and the focus mask."""

    fixed: sitk.Image
    moving: sitk.Image
    focus: sitk.Image | None

    @classmethod
    def build(cls, fixed_work: sitk.Image, moving: Image, moving_focus, size: int, settings: RegistrationSettings) -> "Level":
        """The level of working ``size``, from the target's working copy of that size (made once per run)."""
        moving_work = smoothable(working_image(moving, size, settings.min_working_spacing))
        focus = focus_mask(moving, moving_work, moving_focus, settings) if moving_focus is not None else None
        return cls(fixed_work, moving_work, focus)

    def copy(self) -> "Level":
        """A copy whose images share nothing with these (for work on another thread: ITK's pipeline notes what
        each filter asks of its input images in the images themselves)."""
        return Level(*(_unshared(image) for image in (self.fixed, self.moving, self.focus)))


def _unshared(image: sitk.Image | None) -> sitk.Image | None:
    """A copy of ``image`` with its own voxels (SimpleITK's copies share them until one is changed)."""
    if image is None:
        return None
    copy = sitk.Image(image)
    copy.MakeUnique()
    return copy


def _upright_unless_turn_holds(levels: list["Level"], fits: list[tuple[sitk.Transform, float, bool]], settings: RegistrationSettings, better) -> sitk.Transform:
    """The start with the lowest coarse :func:`mutual_information_cost` (the highest mutual information), refined
    (:func:`_refined`). ``fits``: each start's coarse fit, its cost and whether it started turned (2D,
    :attr:`RegistrationSettings.start_angles`). When the winner started turned, the best unturned start is refined too
    and the turn is kept only if its cost is still the lower at the finest level.

    A coarse grid sees the outline of the anatomy, which a turn can fit as well as the right pose (a chest
    X-ray's lungs turned 30 degrees matched one pair better on a 64 px grid and scored Dice 0.25 against
    0.61); the finest level sees the inner structure. Pictures are most often taken in their usual
    orientation, so the turn has to hold at both levels.
    """
    best, _, turned = min(fits, key=lambda fit: fit[1])
    transform = _refined(levels, best, settings, better)
    unturned = [fit for fit in fits if not fit[2]]
    if not turned or not unturned:
        return transform
    upright = _refined(levels, min(unturned, key=lambda fit: fit[1])[0], settings, better)
    finest = levels[-1]
    return transform if mutual_information_cost(finest.fixed, finest.moving, transform) < mutual_information_cost(finest.fixed, finest.moving, upright) else upright


def _coarse_fits(level: "Level", starts: list[sitk.Transform], settings: RegistrationSettings, score,
                 report: Callable[[int], None]) -> tuple[list[tuple[sitk.Transform, float, bool]], RuntimeError | None]:
    """Each start's :func:`_coarse_fit` (the fit, its cost and whether it started turned: 2D,
    :attr:`RegistrationSettings.start_angles`), in the order of ``starts``, less those that failed, and the last failure
    that was not a lost overlap (:func:`lost_overlap`; None when there was none). ``report(done)`` after each start.

    The starts are independent, so their optimizations run side by side, on up to one Python thread per CPU of this
    process's share (:func:`rau.cpu_share.fit_threads`: a pool's workers share the CPUs) (SimpleITK lets go of the
    interpreter while ITK works), each on its own copy of the level; ITK still runs each on one thread
    (:func:`rau.itk_threads.one_itk_thread`), so every fit is bit for bit the one it gives alone. Their judging, and
    any error, is taken in the order of ``starts`` on this thread, as one start after another was."""
    fits, failure = [], None
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(starts), fit_threads())))
    try:
        optimized = [pool.submit(_coarse_optimized, level.copy(), start, settings) for start in starts]
        for done, (start, fit) in enumerate(zip(starts, optimized), 1):
            turned = start.GetDimension() == 2 and start.GetAngle() != 0.0
            try:
                fits.append((*_coarse_fit(level, start, *fit.result(), score), turned))
            except RuntimeError as error:
                failure = failure if lost_overlap(error) else error
            report(done)  # may raise to stop: the fits not begun are dropped
    finally:
        pool.shutdown(cancel_futures=True)
    return fits, failure


def _coarse_optimized(level: "Level", start: sitk.Transform, settings: RegistrationSettings) -> tuple[sitk.Transform, list[tuple[float, ...]]]:
    """A copy of ``start`` optimized on ``level`` (:func:`linear_stage`), and the parameters each of its pyramid
    levels began from."""
    level_starts: list[tuple[float, ...]] = []
    return linear_stage(level, _copy(start), settings, level_starts), level_starts


def _coarse_fit(level: "Level", start: sitk.Transform, fitted: sitk.Transform, level_starts: list[tuple[float, ...]],
                score) -> tuple[sitk.Transform, float]:
    """``start`` optimized on the coarsest level (``fitted``, whose pyramid levels began from ``level_starts``:
    :func:`_coarse_optimized`), with its coarse :func:`mutual_information_cost`; a volume's start is kept
    as it is when the fit does not raise ``score`` (the correlation at the finest level; strictly, a slab's too), and a
    picture's fit that collapsed in its last pyramid level (:func:`_collapsed`) goes back to where that level began.

    A volume's start comes from the headers, which can be exactly right (a copy moved in its header: the coarse
    fit drifted 1 mm and 1.5 % in scale, and one organ of a 30 x 25 mm field of view fell to Dice 0.82-0.95 in
    four of six voxel orders). A picture's starts are guesses (centres aligned, scales, turns) that always need
    the fit: the same check lowered the 20 HC18 pairs from 0.647 to 0.619."""
    if start.GetDimension() == 3:
        chosen = fitted if score(fitted) > score(start) else start
        return chosen, mutual_information_cost(level.fixed, level.moving, chosen)
    last_level_start = _copy(start)
    last_level_start.SetParameters(level_starts[-1])
    fitted_cost, began_cost = (mutual_information_cost(level.fixed, level.moving, t) for t in (fitted, last_level_start))
    return (last_level_start, began_cost) if _collapsed(fitted_cost, began_cost) else (fitted, fitted_cost)


def _collapsed(fitted_cost: float, began_cost: float) -> bool:
    """Whether a picture's coarse fit kept less than :data:`COLLAPSED_SHARE` of the mutual information it had where its
    last pyramid level began (costs of :func:`mutual_information_cost`, the mutual information negated).

    The optimizer's steps start anew at each pyramid level, and one step can leave a good fit for good: a brain MR
    slice of T2-like contrast against a T1 reference, fitted to scale 0.99 and its true turn, jumped to scale 0.47
    and 20 degrees in the first step of the last level and stayed there, keeping 8 % of its mutual information
    (Dice 0.20, against 0.94 from where that level began). Elsewhere a last level keeps 81 % of it or more (ARCADE
    81 %, HC18 82 %, CT slices, brain MR slices, chest films 95 %), often gaining; going back wherever it lost some
    moved HC18 pairs both ways (20 pairs 0.647 -> 0.664, the demo's pool of 15 0.771 -> 0.635), so only a collapse is
    undone. With a pyramid of one level (a picture under 32 px a side) that level began at the start itself."""
    return began_cost < 0 and fitted_cost > COLLAPSED_SHARE * began_cost


def _refined(levels: list["Level"], transform: sitk.Transform, settings: RegistrationSettings, better) -> sitk.Transform:
    """``transform`` refined level by level as a similarity, then as an affine transform; each step kept if
    ``better(refined, before)``."""
    for level in levels[1:]:
        transform = _if_better(transform, lambda: linear_stage(level, _copy(transform), settings), better)
    affine = _as_affine(transform)
    for level in levels[1:] or levels:
        affine = _if_better(affine, lambda: linear_stage(level, _copy(affine), settings), better)
    return affine


OVERLAP_ERRORS = ("samples map outside moving image buffer", "do not sufficiently overlap", "Joint PDF summed to zero")
"""What ITK's metrics say when a transform leaves the images too little overlap."""


def lost_overlap(error: RuntimeError) -> bool:
    """Whether an ITK error says the images overlap too little (see :data:`OVERLAP_ERRORS`)."""
    return any(text in str(error) for text in OVERLAP_ERRORS)


def _or_keep(transform: sitk.Transform, refine) -> sitk.Transform:
    """The refined transform, or ``transform`` unchanged when refining loses the overlap."""
    try:
        return refine()
    except RuntimeError:
        return transform


def _if_better(transform: sitk.Transform, refine, better) -> sitk.Transform:
    """The refined transform when ``better(refined, transform)``; else ``transform`` unchanged.

    An optimizer only follows its metric's local slope, and on a speckled or low-contrast
    image a stage can drift off the anatomy; judged by the one criterion that also ranks
    references, no stage is allowed to make the fit worse (a slab's, not much worse: :data:`SLAB_TOLERANCE`).
    """
    refined = _or_keep(transform, refine)  # unchanged where refining lost the overlap
    return refined if better(refined, transform) else transform


def scored_once(score: Callable[[sitk.Transform], float]) -> Callable[[sitk.Transform], float]:
    """``score`` that works a linear transform's value out once and gives it again for a transform of the same kind and
    parameters (the correlation is a function of them alone): each refinement is judged against the one before it
    (:func:`_if_better`), which the step before had scored. Other transforms are scored each time."""
    known: dict[tuple, float] = {}

    def scored(transform: sitk.Transform) -> float:
        if not transform.IsLinear():
            return score(transform)
        key = (transform.GetName(), transform.GetParameters(), transform.GetFixedParameters())
        if key not in known:
            known[key] = score(transform)
        return known[key]

    return scored


def _copy(transform: sitk.Transform) -> sitk.Transform:
    """An independent copy (optimizers change their transform in place)."""
    return sitk.Transform(transform).Downcast()


def _similarity(dimension: int) -> sitk.Transform:
    return sitk.Similarity2DTransform() if dimension == 2 else sitk.Similarity3DTransform()


def initial_transforms(fixed: sitk.Image, moving: sitk.Image, settings: RegistrationSettings, placed: np.ndarray | None = None) -> list[sitk.Transform]:
    """Similarity transforms to start from, about the fixed image's centre.

    2D pictures are framed on the anatomy by the operator: their centres are aligned,
    and the anatomy's size ratio lies between the physical one (scale 1, similar
    anatomy) and that of the fields of view (similar framing; fetal heads differ
    several-fold in size), so the starts take scale 1, the field-of-view ratio and
    their geometric mean, each as it is and turned by :attr:`RegistrationSettings.start_angles`.
    A translation search in 2D only finds false matches.
    Volumes start from the headers as they are, the grid centres aligned, the
    foreground centroids aligned and the ``starts`` best offsets of a grid search
    around the centroids (scans of one body cover different ranges). The search runs on coarse copies
    (about 32 voxels a side) and skips offsets where the images barely overlap. A CT placed along a much longer one
    (``placed``, a translation from :func:`rau.long_scan.long_scan_placement`) starts there only.
    """
    dimension = fixed.GetDimension()
    centre = _centre(fixed)
    if dimension == 2:
        ratio = float(np.sqrt(np.prod(np.array(moving.GetSize()) * moving.GetSpacing() / (np.array(fixed.GetSize()) * fixed.GetSpacing()))))
        scales = dict.fromkeys((1.0, float(np.sqrt(ratio)), ratio))  # one of each: equal fields of view start once
        starts = [(_centre(moving) - centre, scale, angle) for scale in scales for angle in settings.start_angles]
    elif placed is not None:
        starts = [(placed, 1.0, 0.0)]
    else:
        offset = foreground_centroid(moving) - foreground_centroid(fixed)
        starts = [(np.zeros(dimension), 1.0, 0.0), (_centre(moving) - centre, 1.0, 0.0), (offset, 1.0, 0.0)]
        starts += [(candidate, 1.0, 0.0) for candidate in _searched_offsets(fixed, moving, offset, settings)]
    transforms = []
    for translation, scale, angle in starts:
        transform = _similarity(dimension)
        transform.SetCenter(centre.tolist())
        transform.SetTranslation(translation.tolist())
        transform.SetScale(scale)
        if angle:
            transform.SetAngle(float(np.deg2rad(angle)))
        transforms.append(transform)
    return transforms


def _searched_offsets(fixed: sitk.Image, moving: sitk.Image, offset: np.ndarray, settings: RegistrationSettings) -> list[np.ndarray]:
    """The ``starts`` translations around ``offset`` with the best coarse metric."""
    dimension = fixed.GetDimension()
    coarse_fixed, coarse_moving = _coarse(fixed), _coarse(moving)
    if min(coarse_moving.GetSize()) < SMOOTHABLE_VOXELS:  # no searched starts for so thin a reference, as before session 69:
        return []  # ITK's gradient smoothing (4 voxels an axis), made here then though unused, refused every offset
    axes = without_header_noise(np.reshape(moving.GetDirection(), (dimension, dimension)))
    step = np.array(moving.GetSize()) * np.array(moving.GetSpacing()) / (4 * settings.search_steps)  # along each voxel axis
    method = mattes_method()
    method.SetMetricUseMovingImageGradientFilter(False)  # values only: no gradient image to make
    grid = np.arange(-settings.search_steps, settings.search_steps + 1)
    scored = []
    for shift in np.stack(np.meshgrid(*[grid] * dimension, indexing="ij"), -1).reshape(-1, dimension):
        candidate = offset + axes @ (shift * step)  # laid along the image's own axes: a scene turned as a whole searches alike
        method.SetInitialTransform(sitk.TranslationTransform(dimension, candidate.tolist()))
        try:
            scored.append((method.MetricEvaluate(coarse_fixed, coarse_moving), tuple(candidate)))
        except RuntimeError:  # too little overlap at this offset
            continue
    return [np.array(candidate) for _, candidate in sorted(scored)[: settings.starts]]


def _centre(image: sitk.Image) -> np.ndarray:
    """Physical centre of the image's voxel grid."""
    return np.array(image.TransformContinuousIndexToPhysicalPoint(((np.array(image.GetSize()) - 1) / 2).tolist()))


def _coarse(image: sitk.Image, size: int = 32) -> sitk.Image:
    """A copy with at most ``size`` voxels along the longest axis (thin axes kept)."""
    factors = [max(1, min(int(np.ceil(max(image.GetSize()) / size)), n // 2 or 1)) for n in image.GetSize()]
    return sitk.BinShrink(image, factors) if max(factors) > 1 else image


def linear_stage(level: Level, transform: sitk.Transform, settings, level_starts: list | None = None) -> sitk.Transform:
    """Optimize ``transform`` (similarity or affine) in place on one level; returns it. ``level_starts``, where given,
    receives the parameters each of its pyramid levels (:func:`_pyramid`) began from."""
    method = mattes_method()
    if level_starts is not None:
        method.AddCommand(sitk.sitkMultiResolutionIterationEvent, lambda: level_starts.append(transform.GetParameters()))
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0, minStep=1e-4, numberOfIterations=settings.affine_iterations, gradientMagnitudeTolerance=1e-6
    )
    method.SetOptimizerScalesFromPhysicalShift()
    if isinstance(transform, sitk.AffineTransform):
        method.SetOptimizerWeights(_thin_axis_weights(level.fixed))
    shrink, smooth = _pyramid(level.fixed)
    method.SetShrinkFactorsPerLevel(shrink)
    method.SetSmoothingSigmasPerLevel(smooth)
    if level.focus is not None:
        method.SetMetricMovingMask(level.focus)
    method.SetInitialTransform(transform, inPlace=True)
    method.Execute(level.fixed, level.moving)
    return transform


def thin_axes(image: sitk.Image) -> list[int]:
    """Image axes whose extent is under :data:`THIN_AXIS_VOXELS` voxels of the grid's finest spacing: thinness is the
    anatomy's extent, not its stored slices' (the working grid keeps slices coarser than its spacing: 90 mm of abdomen
    in 6 mm slices is 15 voxels, in 3 mm 30; counted at the finest spacing both are 30, while a 40 mm slab stays thin
    whatever its slices). On a grid with one spacing the count is the voxel count itself."""
    size, spacing = np.array(image.GetSize()), np.array(image.GetSpacing())
    return [int(a) for a in np.flatnonzero(np.round(size * spacing / spacing.min()) < THIN_AXIS_VOXELS)]


def _thin_axis_weights(fixed: sitk.Image) -> list[float]:
    """Affine optimizer weights that keep the similarity stage's scaling along a thin image axis.

    A slab a few voxels thick does not constrain stretching across it; the affine stage would squash the reference
    to fit. Only in-plane terms stay free. (For the same reason a slab gets no deformable stage.)
    """
    dimension = fixed.GetDimension()
    weights = np.ones((dimension, dimension))
    direction = np.abs(np.array(fixed.GetDirection()).reshape(dimension, dimension))
    for axis in thin_axes(fixed):
        weights[:, int(np.argmax(direction[:, axis]))] = 0.0
    return weights.ravel().tolist() + [1.0] * dimension


def _as_affine(transform: sitk.Transform) -> sitk.AffineTransform:
    """The same mapping as a (similarity) matrix transform, as an affine transform with the same centre."""
    affine = sitk.AffineTransform(transform.GetDimension())
    affine.SetCenter(transform.GetCenter())
    affine.SetMatrix(transform.GetMatrix())
    affine.SetTranslation(transform.GetTranslation())
    return affine


def _pyramid(image: sitk.Image) -> tuple[list[int], list[float]]:
    """Shrink factors that keep at least 16 voxels along every axis, with smoothing sigmas of half the factor
    in millimetres (:func:`_method`).

    Sigmas in voxels instead, in every stage: HC18 20 pairs 0.540 against 0.647, JSRT 224 px 0.714 against
    0.740, ARCADE 0.037 against 0.056. In the field stage only: chest CT 0.925 against 0.912 and CT -> MR
    0.340 against 0.320, but JSRT 224 px 0.732 and its pool of 20 0.806 against 0.818 (forward field alone; with
    the inverse-consistent field of volumes, voxels gave chest CT 0.931 against 0.929 and CT -> MR 0.342
    against 0.325, but subject A's CT under three deformations 0.831 against 0.838 and a brain MR 0.966 against 0.970).
    """
    smallest = min(image.GetSize())
    levels = [f for f in (4, 2) if smallest // f >= 16] + [1]
    return levels, [f / 2 if f > 1 else 0.0 for f in levels]


def field_stage(level: Level, linear: sitk.Transform, settings) -> sitk.Transform:
    """A smooth displacement field refining the linear transform; returns both as one composite transform.

    Greedy dense registration in the manner of ANTs' SyN stage with its defaults (:func:`rau.dense_fields.dense_field`).
    In volumes the field is also made inverse-consistent, as SyN is symmetric
    (:func:`_inverse_consistent`; the forward field alone when the way back fails); pictures keep the
    forward field (see there why), refined at the full working resolution (:func:`rau.dense_fields.fine_field`; the
    coarser field alone when that fails).
    """
    field = dense_field(level.fixed, level.moving, linear, settings, moving_focus=level.focus)
    if level.fixed.GetDimension() == 3:
        field = _or_keep(field, lambda: _inverse_consistent(level, linear, field, settings))
    elif settings.fine_field_iterations > 0:
        field = _or_keep(field, lambda: fine_field(level.fixed, level.moving, linear, field, settings))
    composite = sitk.CompositeTransform(level.fixed.GetDimension())  # applies the field first, then the linear part
    composite.AddTransform(linear)
    composite.AddTransform(field)
    return composite


def _inverse_consistent(level: Level, linear: sitk.Transform, forward: sitk.DisplacementFieldTransform, settings) -> sitk.DisplacementFieldTransform:
    """The mean of ``forward`` and the inverse of a field found the other way round.

    The backward field registers the target onto the reference (from the inverse linear transform, the
    metric within the reference's focus); inverted, it maps target points to reference points as the
    forward field does. Their mean, taken in the target's frame before the linear part, has no preferred
    direction, as in ANTs' symmetric SyN. The rule is by dimension: volumes only. It raised the mean Dice
    of every volume set it was tried on (8 of 10 pairs higher, one equal, one 0.001 lower): slicerio chest CT
    0.912 -> 0.929, TotalSegmentator CT -> MR 0.320 -> 0.325, subject A's CT under three random deformations
    0.822 -> 0.838, subject C's MR and B's CT onto A's CT 0.148 -> 0.153, a brain MR under two random
    deformations 0.965 -> 0.970. On pictures it lost on chest X-rays (1024 px 0.733 against 0.737, pools of
    20 0.806 against 0.818): the engine gives a picture no focus (a volume always has one), so there the
    backward field also follows anatomy that the reference does not show.
    """
    backward = dense_field(level.moving, level.fixed, linear.GetInverse(), settings, fixed_focus=level.focus)
    inverted = sitk.InvertDisplacementField(backward.GetDisplacementField(), maximumNumberOfIterations=20)
    round_trip = sitk.CompositeTransform(level.fixed.GetDimension())  # linear, then the inverted field, then back
    round_trip.AddTransform(linear.GetInverse())
    round_trip.AddTransform(sitk.DisplacementFieldTransform(inverted))
    round_trip.AddTransform(linear)
    forward_field = forward.GetDisplacementField()  # on the grid of the field's last level
    inverted_backward = sitk.TransformToDisplacementField(round_trip, sitk.sitkVectorFloat64, forward_field.GetSize(), forward_field.GetOrigin(),
                                                          forward_field.GetSpacing(), forward_field.GetDirection())
    mean = sitk.GetImageFromArray((sitk.GetArrayViewFromImage(forward_field) + sitk.GetArrayViewFromImage(inverted_backward)) / 2, isVector=True)
    mean.CopyInformation(forward_field)
    return sitk.DisplacementFieldTransform(mean)


