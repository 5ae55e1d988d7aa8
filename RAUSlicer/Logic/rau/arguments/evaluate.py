"""``rau evaluate``'s command line: the manifest, the outputs, processes and clicks (what it does: :mod:`rau.commands.evaluate`)."""

from __future__ import annotations

from rau.commands.engine_options import add_engine_arguments
from rau.engines import DEFAULT_ENGINE
from rau.validation import argument, non_empty_path, non_negative_integer, positive_integer

SCORING = (
    "Scores each case's segmentation against its truth on the target's grid, in physical space (a truth on another grid "
    "is resampled by nearest neighbour; a structure of it that covers no voxel centre of the target's is not scored: "
    "truth_too_small). Structures meet by name, else by label value. Per structure: Dice; HD95 (the 95th "
    "percentile of both directions' surface distances pooled) and centroid distance in mm, or px for a picture without a "
    "pixel size. A structure the truth has and the engine does not paint is missed (Dice 0); one the truth lacks is not "
    "in the mean Dice, and painting it is a false positive. Detected: the engine painted any voxel of it. Presence "
    "accuracy: present and found, absent and reported absent."
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="score an engine on cases with truth (Dice, HD95, box IoU ...)", description=SCORING)
    parser.add_argument("manifest", type=argument(non_empty_path, "manifest"), help="CSV: reference_image, reference_labels, target_image, target_labels [, reference_spacing, target_spacing (mm), structures, label_table]")
    parser.add_argument("--json", type=argument(non_empty_path, "--json"), metavar="OUT.json", help="write per-case and summary numbers as JSON (a CSV of rows goes beside it)")
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), help="evaluate only the first N cases")
    parser.add_argument("--jobs", type=argument(positive_integer, "--jobs"), default=1, metavar="N", help="evaluate N cases at a time in separate processes (same numbers as one; default 1)")
    parser.add_argument("--predictions", type=argument(non_empty_path, "--predictions"), metavar="DIR",
                        help="also write each case's segmentation there, as rau segment writes one (NNN_TARGET.nii.gz, its "
                             ".labels.csv and .result.json; NNN: the case's number in the manifest), to check the figures "
                             "or correct a case with rau correct")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--clicks", type=argument(non_negative_integer, "--clicks"), default=0, metavar="N", help="then simulate a user: up to N corrections per structure at the largest error; reports Dice per click and NoC (in one process: not with --jobs)")
    parser.add_argument("--vqa", action="store_true", help="score the VLM (--vlm-model, or the model of --vlm-server; the --vlm-* and --device options apply, --engine and the others do not) instead of an engine: presence and identity accuracy, box IoU and hit rate")
    add_engine_arguments(parser, engine_default=None, engine_help=f"default: {DEFAULT_ENGINE}; not with --vqa")
    parser.set_defaults(run="rau.commands.evaluate:run")
