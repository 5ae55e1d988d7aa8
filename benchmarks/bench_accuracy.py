"""Accuracy of the registration engine against plain baselines, on the same pairs, in one run.

Run: ``python benchmarks/bench_accuracy.py MANIFEST... [--limit N] [--json OUT] [--methods ...]``

Every method transfers the reference labels with the same :func:`rau.label_transfer.warp_structures`
(linear interpolation of each structure, > 0.5), so only the alignment differs. Methods:

* ``identity``: no registration; the labels are resampled in physical space as they lie.
* ``affine``: plain SimpleITK affine, as in SimpleITK's own examples: ``CenteredTransformInitializer``
  (geometry centres) + ``AffineTransform``; Mattes mutual information, 50 bins, 1 % random samples
  (seed 1; ``--baseline-sampling`` changes the share); linear interpolation; gradient descent (learning rate 1, 100 iterations, convergence
  1e-6 over a window of 10) with scales from physical shift; shrink 4, 2, 1 with smoothing sigmas
  2, 1, 0 voxels. No multi-start, no masks.
* ``bspline``: ``affine``, then a cubic B-spline over the target with a mesh of 6 x 6 (x 6) cells (9 control points
  per axis),
  Mattes MI as above, L-BFGS-B (gradient tolerance 1e-5, 100 iterations, 5 corrections),
  shrink 4, 2, 1 with smoothing 2, 1, 0 voxels.
* ``engine``: :class:`rau.engines.registration.RegistrationEngine` with its defaults (``--fusion`` to override).
* ``ants_syn``: ``ants.registration(fixed, moving, "SyN", random_seed=1)``, antspyx's defaults otherwise, when ``antspyx``
  is importable (it is not a dependency of rau; run this file from a venv that has it).

Baselines run single-threaded (fixed threads and seeds: repeatable); the engine fixes its own threads.
Cases with several references (rows sharing a target): each baseline registers every reference and
fuses all by majority vote (classic multi-atlas); the engine ranks them and fuses its ``top_k``.
``--pairs`` scores every reference -> target row alone instead: many single-reference pairs of one kind
(``protocols/hc18_multi.csv`` holds 1180), a larger sample than a single-reference manifest.
The engine's reference-ranking figures (Spearman of the ranking score and of the image similarity, top-1,
best single, mean single) are reported as ``rau evaluate`` does.

Prints each case's Dice and seconds per method as it runs, then, per manifest, the mean Dice over (case, structure)
rows and the mean seconds per case of each method, the engine's Dice minus each baseline's (``dice_minus_<method>``)
and its mean seconds per case over each baseline's (``time_ratio_to_<method>``). ``--json`` writes these figures and,
under ``per_case``, each case in run order with its name, its references' names (under ``--pairs`` they tell a
target's pairs apart) and each method's seconds (a method that failed on it,
listed under ``failed``, has none).
A plain registration that fails other than by losing the overlap (e.g. ``--baseline-sampling`` too small to sample a
point) is no Dice 0: the case is left out of that method's figures and listed under ``failed`` with ITK's reason, and
the run exits 1 once the figures are written.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.engines import create_engine
from rau.errors import InputError
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import load_case, score_run, scored_request, summarize, truth_masks
from rau.fusion import dice, fuse
from rau.label_transfer import warp_structures
from rau.options import FUSION_METHODS
from rau.itk_threads import one_itk_thread
from rau.registration import lost_overlap
from rau.validation import argument, positive_integer
from figures import json_file, write_json
from shared_data import is_protocol, protocol_files, protocol_on_shared_data, require_shared_data

BASELINES = ("identity", "affine", "bspline")
SEED = 1


BASELINE_SAMPLING = 0.01
"""Share of voxels the plain baselines' metric samples, as in SimpleITK's examples. On a small picture
that is a few hundred pixels; ``--baseline-sampling 0.2`` gives a stronger baseline to compare with."""


def _plain_method(sampling: float) -> sitk.ImageRegistrationMethod:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, SEED)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetShrinkFactorsPerLevel([4, 2, 1])
    method.SetSmoothingSigmasPerLevel([2, 1, 0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    return method


def plain_affine(fixed: sitk.Image, moving: sitk.Image, sampling: float = BASELINE_SAMPLING) -> sitk.Transform:
    """Plain SimpleITK affine registration (settings in the module docstring)."""
    initial = sitk.CenteredTransformInitializer(fixed, moving, sitk.AffineTransform(fixed.GetDimension()), sitk.CenteredTransformInitializerFilter.GEOMETRY)
    method = _plain_method(sampling)
    method.SetOptimizerAsGradientDescent(learningRate=1.0, numberOfIterations=100, convergenceMinimumValue=1e-6, convergenceWindowSize=10)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetInitialTransform(initial, inPlace=False)
    return method.Execute(fixed, moving)


def plain_bspline(fixed: sitk.Image, moving: sitk.Image, sampling: float = BASELINE_SAMPLING) -> sitk.Transform:
    """Plain affine, then a 6-per-axis cubic B-spline (settings in the module docstring)."""
    affine = plain_affine(fixed, moving, sampling)
    bspline = sitk.BSplineTransformInitializer(fixed, [6] * fixed.GetDimension(), order=3)
    method = _plain_method(sampling)
    method.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=100, maximumNumberOfCorrections=5)
    method.SetMovingInitialTransform(affine)
    method.SetInitialTransform(bspline, inPlace=True)
    method.Execute(fixed, moving)
    composite = sitk.CompositeTransform(fixed.GetDimension())
    composite.AddTransform(affine)
    composite.AddTransform(bspline)
    return composite


def ants_syn(fixed: sitk.Image, moving: sitk.Image) -> sitk.Transform:
    """antspyx ``SyN`` with its defaults; the forward transforms as one SimpleITK composite."""
    import ants

    result = ants.registration(_to_ants(fixed), _to_ants(moving), "SyN", random_seed=SEED)
    composite = sitk.CompositeTransform(fixed.GetDimension())
    for path in result["fwdtransforms"]:  # applied last-first, as ITK composites apply
        composite.AddTransform(sitk.ReadTransform(path) if path.endswith(".mat") else sitk.DisplacementFieldTransform(sitk.Cast(sitk.ReadImage(path), sitk.sitkVectorFloat64)))
    return composite


def _to_ants(image: sitk.Image):
    import ants

    array = sitk.GetArrayFromImage(image).T.astype(np.float32)
    dimension = image.GetDimension()
    return ants.from_numpy(array, origin=list(image.GetOrigin()), spacing=list(image.GetSpacing()), direction=np.reshape(image.GetDirection(), (dimension, dimension)))


def registered(method: str, fixed, moving, sampling: float = BASELINE_SAMPLING) -> sitk.Transform:
    """The ``method``'s transform from target (``fixed``, a rau Image) to reference points."""
    if method == "identity":
        return sitk.Transform(fixed.ndim, sitk.sitkIdentity)
    plain = {"affine": plain_affine, "bspline": plain_bspline}
    function = functools.partial(plain[method], sampling=sampling) if method in plain else ants_syn
    with one_itk_thread():  # repeatable, as the engine
        return function(sitk.Cast(fixed.to_sitk(), sitk.sitkFloat32), sitk.Cast(moving.to_sitk(), sitk.sitkFloat32))


def baseline_rows(method: str, references, target, truths: dict[str, np.ndarray], sampling: float = BASELINE_SAMPLING) -> list[dict]:
    """Dice per structure of one baseline (``truths``: :func:`scored_structures`); several references fused by majority
    vote among those the structure lands from (as the engine fuses): a reference whose plain registration loses the
    overlap, or on which the structure lands nowhere, does not vote. Any other ITK failure (e.g. too few samples for
    ``sampling``) is raised: the method failed, which is no Dice 0."""
    transferred = []
    for reference in references:
        try:
            transform = registered(method, target, reference.image, sampling)
        except RuntimeError as error:
            if not lost_overlap(error):
                raise
            transferred.append({})  # the plain method lost the overlap: the labels are lost too
            continue
        transferred.append(warp_structures(reference.segmentation, [n for n in truths if reference.segmentation.has_voxels(n)], target, transform))
    rows = []
    for name, truth in truths.items():
        landed = [t[name] for t in transferred if t.get(name) is not None]
        mask = np.zeros(target.shape, bool)
        if landed:
            fused = fuse(landed, "vote")[0] if len(references) > 1 else landed[0]
            mask[fused.region] = fused.values > 0.5
        rows.append({"structure": name, "dice": dice(mask, truth) if truth.any() else math.nan})  # as rau evaluate scores
    return rows


def scored_structures(case, references, target, truth) -> dict[str, np.ndarray]:
    """The truth mask of each structure the engine is asked for, the rows ``rau evaluate`` scores (an empty mask
    where the truth lacks it); raises :class:`~rau.errors.InputError` for a truth that holds none of the reference's
    structures, as ``rau evaluate`` fails that case. Before, the baselines scored every structure of the reference's
    label table that the truth holds, also those the reference has no voxels of (Dice 0): on ``totalseg_ct.csv`` 31
    against the engine's 27, which lowered their means."""
    truths = truth_masks(references[0], truth)
    request, _ = scored_request(case, references, target, truth)
    return {name: truths.get(name, np.zeros(target.shape, bool)) for name in request.labels().names}


def run_manifest(path: Path, methods: list[str], limit: int | None, engine_options: dict, pairs: bool = False,
                 sampling: float = BASELINE_SAMPLING) -> dict:
    cases = read_manifest(path)
    if pairs:  # every reference -> target row alone: single-reference registration quality on many pairs
        cases = [replace(case, references=[reference]) for case in cases for reference in case.references]
    cases = cases[:limit]
    engine = create_engine("registration", {**engine_options, "keep_transfers": True})
    totals = {m: {"rows": [], "seconds": []} for m in methods}
    scores, skipped, failed, per_case = [], [], [], []
    for number, case in enumerate(cases, 1):
        try:
            references, target, truth = load_case(case)
            truths = scored_structures(case, references, target, truth)
        except InputError as error:  # this case's files or truth: no method runs it, the others are compared
            skipped.append({"case": case.name, "error": str(error)})
            print(f"  {path.name} {number}/{len(cases)} {case.target_image.name}: skipped: {error}", flush=True)
            continue
        per_case.append({"case": case.name, "references": [reference.name for reference in references], "seconds": {}})
        for method in methods:
            started = time.perf_counter()
            if method == "engine":
                score = score_run(engine, case, references, target, truth)
                scores.append(score)
                rows, seconds = score.rows, score.seconds  # the engine's run, without scoring its metrics (HD95 ...)
            else:
                try:
                    rows = baseline_rows(method, references, target, truths, sampling)
                except RuntimeError as error:  # recorded apart, and this case left out of the method's figures
                    failed.append({"case": case.name, "method": method, "error": itk_reason(error)})
                    print(f"  {path.name} {number}/{len(cases)} {case.target_image.name} {method}: failed: {failed[-1]['error']}", flush=True)
                    continue
                seconds = time.perf_counter() - started
            totals[method]["seconds"].append(seconds)
            totals[method]["rows"].extend(rows)
            per_case[-1]["seconds"][method] = round(seconds, 3)
            print(f"  {path.name} {number}/{len(cases)} {case.target_image.name} {method}: dice {_mean_dice(rows):.3f} ({seconds:.2f} s)", flush=True)
    seconds = {m: float(np.mean(t["seconds"])) if t["seconds"] else math.nan for m, t in totals.items()}  # none: failed
    report = {m: {"mean_dice": round(_mean_dice(t["rows"]), 4), "seconds_per_case": round(seconds[m], 2)} for m, t in totals.items()}
    if "engine" in methods:
        ranking = summarize(scores).get("ranking")
        if ranking:
            report["engine"]["ranking"] = ranking
        for m in methods:
            if m != "engine":
                report["engine"][f"dice_minus_{m}"] = round(report["engine"]["mean_dice"] - report[m]["mean_dice"], 4)
                report["engine"][f"time_ratio_to_{m}"] = round(seconds["engine"] / seconds[m], 2)  # unrounded: a copy takes milliseconds
    return {"manifest": str(path), "cases": len(cases) - len(skipped), "references_per_case": float(np.mean([len(c.references) for c in cases])),
            "baseline_sampling": sampling, "methods": report, "per_case": per_case, **({"skipped": skipped} if skipped else {}), **({"failed": failed} if failed else {})}


def itk_reason(error: RuntimeError) -> str:
    """The last line of an ITK error: its reason, without the source file it was raised in or the object's address
    (which differs from run to run)."""
    return re.sub(r"\(0x[0-9a-f]+\)", "", str(error).strip().splitlines()[-1])


def _mean_dice(rows: list[dict]) -> float:
    """Mean Dice over rows whose structure is present in the truth (others score NaN); NaN for no row."""
    return float(np.nanmean([r["dice"] for r in rows])) if rows else math.nan


def print_report(result: dict) -> None:
    print(f"\n{result['manifest']}: {result['cases']} cases, {result['references_per_case']:.1f} references each")
    for method, figures in result["methods"].items():
        extra = "  ".join(f"{k} {v}" for k, v in figures.items() if k not in ("mean_dice", "seconds_per_case"))
        print(f"  {method:10s} Dice {figures['mean_dice']:.4f}  {figures['seconds_per_case']:8.2f} s/case  {extra}")
    for skipped in result.get("skipped", []):
        print(f"  skipped {skipped['case']}: {skipped['error']}")
    for failed in result.get("failed", []):
        print(f"  {failed['method']} failed on {failed['case']}: {failed['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifests", nargs="+", type=Path)
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), default=None, help="first N cases of each manifest")
    parser.add_argument("--methods", nargs="+", default=None, choices=(*BASELINES, "ants_syn", "engine"),
                        help=f"default: {' '.join(BASELINES)} engine (+ ants_syn when antspyx is importable)")
    parser.add_argument("--fusion", default=None, choices=FUSION_METHODS, help="engine fusion (default: the engine's)")
    parser.add_argument("--no-deformable", action="store_true", help="engine without its deformable stage")
    parser.add_argument("--pairs", action="store_true", help="score every reference -> target row alone (no fusion), e.g. the 1180 pairs of hc18_multi.csv")
    parser.add_argument("--baseline-sampling", type=float, default=BASELINE_SAMPLING, metavar="FRACTION",
                        help=f"share of voxels the plain baselines' metric samples (default {BASELINE_SAMPLING}, as SimpleITK's examples)")
    parser.add_argument("--json", type=json_file, help="write the figures here")
    args = parser.parse_args()
    if not 0 < args.baseline_sampling <= 1:
        parser.error(f"--baseline-sampling must be above 0 and at most 1, got {args.baseline_sampling}")
    if "ants_syn" in (args.methods or ()) and not _has_ants():
        parser.error("--methods ants_syn needs the antspyx package (pip install antspyx)")
    methods = args.methods or [*BASELINES, *(["ants_syn"] if _has_ants() else []), "engine"]
    options = {k: v for k, v in {"fusion": args.fusion, "deformable": False if args.no_deformable else None}.items() if v is not None}
    if protocols := [path for path in args.manifests if is_protocol(path)]:  # run on $RAU_SHARED_DATA, as the other benchmarks
        require_shared_data(parser, [name for path in protocols for name in protocol_files(path)])
    work = Path(tempfile.mkdtemp(prefix="rau-bench-accuracy-"))
    try:
        runs = [protocol_on_shared_data(path, work) if is_protocol(path) else path for path in args.manifests]
        for run in runs:  # every manifest and the files it names, before any run (a later one's mistake lost hours)
            read_manifest(run)
        results = [{**run_manifest(run, methods, args.limit, options, args.pairs, args.baseline_sampling), "manifest": str(path)}
                   for path, run in zip(args.manifests, runs)]
    except InputError as error:  # a manifest (a case's files and truth are its own: skipped, said in the figures)
        parser.error(str(error))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for result in results:
        print_report(result)
    if args.json:
        write_json(args.json, without_nan(results), allow_nan=False)
    if any("failed" in result for result in results):
        raise SystemExit("bench_accuracy: a baseline failed on some case; its reasons are above (and under \"failed\" in --json)")


def without_nan(value):
    """``value`` with every NaN (a mean over no structure) as None, which JSON writes as null (NaN is not JSON)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(item) for item in value]
    return value


def _has_ants() -> bool:
    try:
        import ants  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
