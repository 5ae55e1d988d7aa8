"""Dense displacement fields for :func:`rau.registration.field_stage`: greedy, smoothed, in the manner of ANTs' SyN
stage (:func:`dense_field`), and a picture's last level at the full working resolution (:func:`fine_field`)."""

from __future__ import annotations

import SimpleITK as sitk

from rau.registration_metric import correlation, mattes_method

FINE_FIELD_TOLERANCE = 0.02
"""How far a picture's full-resolution field level (:func:`fine_field`) may lower the absolute correlation and still be
kept: a fit that gains moves it by about 0.01 either way (T2-like brain slices against T1 references lose up to 0.007
while gaining Dice), a field that follows what the reference does not show loses more (a chest film of another
patient: 0.604 -> 0.541, Dice 0.713 -> 0.696)."""


def dense_field(fixed: sitk.Image, moving: sitk.Image, initial: sitk.Transform, settings, moving_focus: sitk.Image | None = None,
                fixed_focus: sitk.Image | None = None) -> sitk.DisplacementFieldTransform:
    """A displacement field, applied before ``initial``, that registers ``moving`` onto ``fixed``; it lies on
    ``fixed``'s grid shrunk by the last pyramid level's factor (2 on all but the smallest grids).

    Mattes mutual information on every voxel (within the focus masks when given); gradient steps of at most
    ``field_step`` voxels, ``field_iterations`` at a quarter and at half the working resolution and none at
    full resolution (ANTs: 40, 20, 0; a picture then gets a few there: :func:`fine_field`), each update smoothed by a
    Gaussian of ``field_update_sigma`` voxels
    (how far one step's evidence spreads). The total field is smoothed by ``field_total_sigma`` voxels, by
    default not at all, as in ANTs' ``SyN[0.2, 3, 0]``: the smoothed updates already keep the field regular
    (a fluid-like model), while smoothing the whole field at every step pulls it back towards zero and,
    with the few steps the convergence check allows, undoes part of each step (no total smoothing: HC18 20
    pairs 0.554 vs 0.544, ARCADE 0.054 vs 0.051, chest CT 0.912 vs 0.905, all with the forward field alone). A field has as many degrees of
    freedom as its grid, so it follows shapes a coarse B-spline mesh cannot (a head of another shape, a lung
    of another outline); the coarse levels, small steps and smoothed updates keep it from following speckle
    and noise.
    """
    dimension = fixed.GetDimension()
    zero = sitk.Image(fixed.GetSize(), sitk.sitkVectorFloat64, dimension)
    zero.CopyInformation(fixed)
    field = _smoothed_field(zero, settings.field_update_sigma, settings)
    method = _field_method(fixed, settings.field_iterations, settings)
    shrink = [f for f in (4, 2) if min(fixed.GetSize()) // f >= 8] or [1]
    method.SetShrinkFactorsPerLevel(shrink)
    method.SetSmoothingSigmasPerLevel([f / 2 for f in shrink])
    if moving_focus is not None:
        method.SetMetricMovingMask(moving_focus)
    if fixed_focus is not None:
        method.SetMetricFixedMask(fixed_focus)
    method.SetMovingInitialTransform(initial)
    method.SetInitialTransform(field, inPlace=True)
    method.Execute(fixed, moving)
    return field


def fine_field(fixed: sitk.Image, moving: sitk.Image, initial: sitk.Transform, field: sitk.DisplacementFieldTransform,
               settings) -> sitk.DisplacementFieldTransform:
    """A picture's :func:`dense_field` refined at the full working resolution: ``field`` (on the grid of its last level,
    half the working resolution) brought onto ``fixed``'s grid, then ``fine_field_iterations`` more steps there with
    updates smoothed by ``fine_field_update_sigma`` voxels; kept unless it lowers the absolute correlation by more than
    :data:`FINE_FIELD_TOLERANCE` (then ``field`` is returned). Absolute, unlike a picture's other stages: the pose, whose
    sign those judge, is settled by then, and on a target of inverted contrast a closer fit lowers the signed value.

    The coarse levels run out of iterations still gaining (all 16 T2-like brain slices stop at the 30-step limit), but
    more of them did not help (60 or 100: Dice 0.917 -> 0.918 and 0.919, 11 of 16 pairs lower); what they cannot see
    is detail finer than two working voxels. With 5 steps here: T2-like brain slices 0.917 -> 0.930 and T1 brain
    slices 0.980 -> 0.983 (16 of 16 pairs higher each), every other picture set's mean equal or higher (HC18, CT
    slices, chest films and their hard set, HC18 at half resolution, noisy, cropped, resized, inverted and of low
    contrast, projections of CTs, CT -> MR and MR -> MR slices, Colin27 under a bias field and of T2-like contrast).
    10 steps gained more on the brain slices but cost twice the time (CT slices: over 3 times the B-spline
    baseline's); smoothing updates over 4 voxels, not the coarse levels' 3, kept it from following detail the
    reference does not show. Volumes keep their inverse-consistent field as it is.
    """
    upsampled = sitk.Resample(field.GetDisplacementField(), fixed, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkVectorFloat64)
    fine = _smoothed_field(upsampled, settings.fine_field_update_sigma, settings)
    method = _field_method(fixed, settings.fine_field_iterations, settings)
    method.SetShrinkFactorsPerLevel([1])
    method.SetSmoothingSigmasPerLevel([0.0])
    method.SetMovingInitialTransform(initial)
    method.SetInitialTransform(fine, inPlace=True)
    method.Execute(fixed, moving)
    before, after = (correlation(fixed, moving, _after(initial, each), absolute=True) for each in (field, fine))
    return fine if after > before - FINE_FIELD_TOLERANCE else field


def _smoothed_field(displacements: sitk.Image, update_sigma: float, settings) -> sitk.DisplacementFieldTransform:
    """A field transform of ``displacements`` whose updates are smoothed by ``update_sigma`` voxels (and the total
    field by ``field_total_sigma``)."""
    field = sitk.DisplacementFieldTransform(displacements)
    field.SetSmoothingGaussianOnUpdate(varianceForUpdateField=update_sigma**2, varianceForTotalField=settings.field_total_sigma**2)
    return field


def _field_method(fixed: sitk.Image, iterations: int, settings) -> sitk.ImageRegistrationMethod:
    """Mattes mutual information on every voxel (a dense field needs a gradient everywhere) and ``iterations`` gradient
    steps of at most ``field_step`` voxels of ``fixed``."""
    method = mattes_method()
    method.SetMetricSamplingStrategy(method.NONE)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetOptimizerAsGradientDescent(
        learningRate=1.0,
        numberOfIterations=iterations,
        estimateLearningRate=method.EachIteration,
        maximumStepSizeInPhysicalUnits=settings.field_step * min(fixed.GetSpacing()),
        convergenceMinimumValue=1e-6,
        convergenceWindowSize=10,
    )
    return method


def _after(initial: sitk.Transform, field: sitk.Transform) -> sitk.CompositeTransform:
    """``field`` applied first, then ``initial``, as one transform."""
    composite = sitk.CompositeTransform(initial.GetDimension())
    composite.AddTransform(initial)
    composite.AddTransform(field)
    return composite
