"""``rau segment``: find the reference structures in a target and write them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rau.commands.engine_options import engine_options, given_options
from rau.commands.progress_bar import progress_bar
from rau.engines import Request
from rau.engines.base import check_references, run_request, validate_request
from rau.engines.checks import checked_engine, warn_unused_options
from rau.errors import InputError, OptionError, about
from rau.io import read_image
from rau.io.images import check_picture_output, check_picture_values, without_pixel_size
from rau.io.run_outputs import check_run_outputs, output_paths, recorded_inputs, write_outputs
from rau.reference_names import named_apart
from rau.references import check_distinct_references, label_tables, load_reference, reference_bank_entries
from rau.user_warnings import collected_warnings
from rau.validation import check_not_target, check_pixel_sizes


def with_bank(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with ``bank``: the rows of ``--reference-bank`` (:class:`rau.references.BankRow`), read once (none without it)."""
    return argparse.Namespace(**vars(args), bank=reference_bank_entries(args.reference_bank) if args.reference_bank else [])


def load_references(args: argparse.Namespace) -> list:
    """The --reference and --reference-bank references (``args.bank``: :func:`with_bank`), named apart by their image paths."""
    if len(args.reference) != len(args.reference_labels):
        raise OptionError("give one --reference-labels per --reference")
    given = list(zip(args.reference, args.reference_labels, reference_spacings(args)))
    if not given and not args.bank:
        raise OptionError("give --reference and --reference-labels, or --reference-bank")
    check_distinct_references([(image, labels, f"--reference {image}") for image, labels, _ in given]
                              + [(row.image, row.labels, row.place) for row in args.bank])
    tables = label_tables([labels for _, labels, _ in given] + [row.labels for row in args.bank], args.label_table)
    references = [load_reference(image, labels, spacing, table) for (image, labels, spacing), table in zip(given, tables)]
    references += [_bank_reference(row, table) for row, table in zip(args.bank, tables[len(given):])]
    references = named_apart(references, [(image, labels) for image, labels, _ in given] + [(row.image, row.labels) for row in args.bank])
    check_references(references, [None] * len(given) + [row.place for row in args.bank], structures=args.structures)
    return references


def _bank_reference(row, label_table):
    """The reference of a bank row; a file it names that cannot be used is refused naming the row too."""
    try:
        return load_reference(row.image, row.labels, row.spacing, label_table)
    except InputError as error:
        raise InputError(about(row.place, error)) from None


def reference_spacings(args: argparse.Namespace) -> list[float | None]:
    """Each ``--reference``'s pixel size: ``--reference-spacing`` gives one per reference, or one per reference without
    a pixel size of its own (:func:`rau.io.images.without_pixel_size`) in order (one with a header has its own), or none."""
    given = list(args.reference_spacing)
    if not given or len(given) == len(args.reference):
        return given or [None] * len(args.reference)
    pictures = [without_pixel_size(reference) is not None for reference in args.reference]
    if len(given) == sum(pictures):
        spacings = iter(given)
        return [next(spacings) if picture else None for picture in pictures]
    bank = "; a --reference-bank row gives its own in its pixel_spacing column" if args.reference_bank else ""
    raise OptionError(f"give one --reference-spacing per --reference ({len(args.reference)}) or per reference without a pixel "
                      f"size ({sum(pictures)}: a picture, or an NRRD or DICOM file that gives none), or none; got {len(given)}{bank}")


def check_reference_images(args: argparse.Namespace) -> None:
    """Every picture input has a pixel size, or none has (:func:`rau.validation.check_pixel_sizes`), and no
    reference, given or in the bank, is the target itself (:func:`rau.validation.check_not_target`)."""
    references = [(f"--reference {image}", image, spacing) for image, spacing in zip(args.reference, reference_spacings(args))]
    references += [(f"{row.place} ({row.image.name})", row.image, row.spacing) for row in args.bank]
    check_pixel_sizes(references + [(f"--target {args.target}", args.target, args.target_spacing)])
    for name, image, _ in references:
        check_not_target(image, args.target, name)


def input_paths(args: argparse.Namespace) -> list[Path]:
    """Every file ``segment`` reads; outputs may never land on them or their sidecars."""
    paths = [*args.reference, *args.reference_labels, args.target]
    if args.label_table:
        paths.append(args.label_table)
    if args.reference_bank:
        paths.append(args.reference_bank)
    paths += [file for row in args.bank for file in (row.image, row.labels)]
    return [Path(p) for p in paths]


def run_inputs(args: argparse.Namespace) -> dict:
    """:func:`rau.io.run_outputs.recorded_inputs` of this command line."""
    return recorded_inputs(args.target, args.target_spacing, args.reference, args.reference_labels, reference_spacings(args),
                           args.reference_bank, args.label_table, args.structures, engine_options(args), args.bank)


def run(args: argparse.Namespace) -> int:
    options = engine_options(args)  # bad options fail before any file is read
    args = with_bank(args)
    out = Path(args.out)
    paths = output_paths(out, args.seg_nrrd)
    check_run_outputs(paths, input_paths(args), args.overwrite)
    with collected_warnings(echo=True) as said:  # printed as they come, and recorded in the result JSON
        warn_unused_options(args.engine, given_options(args), len(args.reference) + len(args.bank))
        result, references = _segmented(args, out, options)
        started = time.perf_counter()
        write_outputs(result, paths, args.overwrite, run_inputs(args), said, references=references)
        writing = time.perf_counter() - started
    for item in result.structures:
        status = f"found, confidence {item.confidence:.2f}" if item.found else f"not found ({item.message})" if item.message else "not found"
        print(f"{item.structure.name}: {status}")
    print(f"wrote {', '.join(str(p) for p in paths.values())} (segmented in {result.seconds:.1f} s, written in {writing:.1f} s)")
    return 0


def _segmented(args: argparse.Namespace, out: Path, options):
    """Read the command line's references and target, check the request and run the engine on it: its result and the references as read."""
    check_reference_images(args)
    references = load_references(args)
    target = read_image(args.target, args.target_spacing)
    check_picture_output(out, target, "--out")
    request = Request(references, target, args.structures, target_path=Path(args.target))
    validate_request(request)  # a refusal first: its warnings would not matter (a 3D reference among 2D ones gave dozens)
    check_picture_values(out, max((structure.value for structure in request.labels()), default=0), "--out")  # the label map's values
    engine = checked_engine(args.engine, options)
    with progress_bar(f"rau {args.engine}") as progress:
        return run_request(engine, request, progress), references
