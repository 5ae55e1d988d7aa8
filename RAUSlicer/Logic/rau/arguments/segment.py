"""``rau segment``'s command line: one target, its references and the output (what it does: :mod:`rau.commands.segment`)."""

from __future__ import annotations

from rau.commands.engine_options import add_engine_arguments
from rau.validation import argument, non_empty_path, positive_number


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("segment", help="segment a target like the reference(s)")
    parser.add_argument("--reference", action="append", type=argument(non_empty_path, "--reference"), default=[], metavar="IMG", help="reference image (repeat for several)")
    parser.add_argument("--reference-labels", action="append", type=argument(non_empty_path, "--reference-labels"), default=[], metavar="SEG", help="its labels, in the same order")
    parser.add_argument("--reference-spacing", action="append", type=argument(positive_number, "--reference-spacing"), default=[], metavar="MM", help="pixel size of each reference, or of each one without a pixel size of its own (a picture, or an NRRD or DICOM file that gives none), in order: repeat the option, one value each")
    parser.add_argument("--reference-bank", type=argument(non_empty_path, "--reference-bank"), metavar="CSV", help="CSV of references (image,labels[,pixel_spacing])")
    parser.add_argument("--label-table", type=argument(non_empty_path, "--label-table"), help="label table naming the values of the reference label maps (--reference and --reference-bank; a Slicer segmentation among them keeps its own segment names); a label map's sidecar table must name a value as it does, and gives the values it does not name their names and those it names without a colour their colours")
    parser.add_argument("--target", required=True, type=argument(non_empty_path, "--target"), help="target image (file or DICOM folder)",
                        twice_hint="use rau batch for several targets")
    parser.add_argument("--target-spacing", type=argument(positive_number, "--target-spacing"), help="pixel size of a 2D picture target, mm")
    parser.add_argument("--structures", nargs="+", action="extend", help="structure names (default: all in the reference)")
    parser.add_argument("--out", required=True, type=argument(non_empty_path, "--out"), help="output: .nii.gz, .nii, .nrrd, .seg.nrrd (Slicer segmentation) or .png (2D targets)")
    parser.add_argument("--seg-nrrd", action="store_true", help="also write a Slicer .seg.nrrd beside it")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_engine_arguments(parser)
    parser.set_defaults(run="rau.commands.segment:run")
