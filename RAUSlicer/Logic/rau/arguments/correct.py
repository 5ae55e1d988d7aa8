"""``rau correct``'s command line: the result, the structure, the points or box (what it does: :mod:`rau.commands.correct`)."""

from __future__ import annotations

from rau.commands.engine_options import add_option_arguments
from rau.validation import argument, non_empty_path, positive_number

MOVABLE = ("device", "model_cache", "sam2_model", "sam2_revision", "vlm_model", "vlm_adapter", "vlm_server")
"""Engine options that say which models run and where they lie or run (e.g. on another machine): ``rau correct`` may
replace them (:func:`rau.commands.correct.moved_options`)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("correct", help="correct one structure of a 'rau segment' result with points or a box")
    parser.add_argument("result", type=argument(non_empty_path, "result"), help="the .result.json written by rau segment (or by an earlier rau correct)")
    parser.add_argument("--structure", required=True, help="the structure to correct")
    parser.add_argument("--inside", action="append", default=[], metavar="I,J[,K]", help="a voxel inside the structure (repeat for several)")
    parser.add_argument("--outside", action="append", default=[], metavar="I,J[,K]", help="a voxel outside the structure (repeat for several)")
    parser.add_argument("--stroke", action="append", nargs="+", default=[], metavar="I,J[,K]", help="a short line of inside voxels through these points (repeat for several strokes)")
    parser.add_argument("--box", metavar="I0,J0[,K0],I1,J1[,K1]", help="keep the structure inside this voxel box (corners inclusive; one voxel thick along an axis of a volume: on that slice only; SAM2 and RAU engines: on the slice it prompts)")
    parser.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output label map, e.g. out/target.corrected.nii.gz")
    parser.add_argument("--seg-nrrd", action="store_true", help="also write a Slicer .seg.nrrd beside it (always when the corrected run wrote one)")
    parser.add_argument("--overwrite-others", action="store_true", help="the corrected structure takes voxels from the others (default: it gives way)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--target", type=argument(non_empty_path, "--target"),
                        help="the target image, instead of the one the result recorded: it moved, or the result came from rau serve, which records none")
    parser.add_argument("--target-spacing", type=argument(positive_number, "--target-spacing"), help="pixel size of a 2D picture --target, mm")
    moved = parser.add_argument_group("models (SAM2 and RAU results: instead of the ones the result recorded, e.g. on another machine)")
    add_option_arguments(moved, list(MOVABLE), defaults_shown=False)
    parser.set_defaults(run="rau.commands.correct:run")
