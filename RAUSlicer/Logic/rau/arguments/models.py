"""``rau models``'s command line: ``list`` and ``convert`` (what it does: :mod:`rau.commands.models`)."""

from __future__ import annotations

from rau.validation import argument, non_empty_path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list SAM2-family models, convert original-format checkpoints")
    commands = parser.add_subparsers(dest="models_command", required=True, metavar="list|convert")
    listing = commands.add_parser("list", help="the --sam2-model aliases and, for local folders given, their class and frames")
    listing.add_argument("folders", nargs="*", type=argument(non_empty_path, "FOLDER"), metavar="FOLDER", help="local model folders to describe")
    listing.set_defaults(run="rau.commands.models:run_list")
    convert = commands.add_parser("convert", help="original SAM2/SAM2.1/MedSAM2 .pt -> a folder for --sam2-model")
    convert.add_argument("checkpoint", type=argument(non_empty_path, "CHECKPOINT.pt"), metavar="CHECKPOINT.pt")
    convert.add_argument("--config", required=True, type=argument(non_empty_path, "--config"), help="architecture: sam2.1_hiera_tiny ... sam2_hiera_large, medsam2, or a config.json")
    convert.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), metavar="DIR", help="new (or empty) output folder")
    convert.set_defaults(run="rau.commands.models:run_convert")
