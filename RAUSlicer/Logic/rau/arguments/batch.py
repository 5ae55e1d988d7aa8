"""``rau batch``'s command line: a manifest of targets, the output folder and the workers (what it does: :mod:`rau.commands.batch`)."""

from __future__ import annotations

from rau.commands.engine_options import add_engine_arguments
from rau.validation import argument, non_empty_path, non_negative_number, positive_integer, positive_number


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("batch", help="segment every target of a manifest (resumable; local processes or Ray)")
    parser.add_argument("manifest", type=argument(non_empty_path, "manifest"), help="CSV: target_image, reference_image, reference_labels [, target_labels, reference_spacing, target_spacing (mm), structures, label_table]; rows sharing a target are one multi-reference case")
    parser.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output folder: <target>.nii.gz, .labels.csv, .result.json per target and batch_summary.csv")
    parser.add_argument("--seg-nrrd", action="store_true", help="also write a Slicer .seg.nrrd per target")
    parser.add_argument("--workers", type=argument(positive_integer, "--workers"), help="worker processes (default: one per CUDA GPU for a model engine on the GPU, else one per two CPU cores; with --ray: what the cluster fits)")
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), help="only the first N targets")
    parser.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS", type=argument(non_empty_path, "--ray"), help="run on a Ray cluster: auto (this machine's cluster), an address (ray://head:10001), or local (start one here)")
    parser.add_argument("--gpus-per-worker", type=argument(non_negative_number, "--gpus-per-worker"), help="Ray: GPUs each actor holds (default 0, whatever the engine; give 1 for model engines on GPU nodes)")
    parser.add_argument("--cpus-per-worker", type=argument(positive_number, "--cpus-per-worker"), help="Ray: CPUs each actor holds (default 1)")
    add_engine_arguments(parser)
    parser.set_defaults(run="rau.commands.batch:run")
