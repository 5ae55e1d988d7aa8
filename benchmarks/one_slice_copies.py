"""Copy a manifest's 2D pictures to 1-slice volumes, as Slicer and other tools save 2D images.

Run: python benchmarks/one_slice_copies.py MANIFEST OUT_FOLDER [--suffix .nrrd] [--axis k] [--oblique]
[--sides reference target] [--limit N]

Every image and label picture becomes a 3D file with one slice along ``--axis`` (i, j or k), the
manifest's pixel spacing, a non-trivial origin and, with ``--oblique``, a rotated direction.
``--sides target`` copies only the targets (mixed inputs: picture references, volume targets).
Each copy is named by its file's stem (``labels/P4.png`` -> ``P4.nrrd``); files of one stem in different folders
(an image and its mask, ``images/P4.png`` and ``labels/P4.png``) are named by folder and stem (``images_P4.nrrd``,
``labels_P4.nrrd``), and two files whose copies would still share a name are refused. A label table beside a
picture (``P4.labels.csv``) is copied beside its copy. A new manifest (``OUT_FOLDER/manifest.csv``) points to the
copies; ``rau evaluate`` on both manifests must then give the same Dice (see README, "2D images"). OUT_FOLDER, new or empty, is written whole or not
at all (a temporary folder beside it, then renamed).
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from rau.errors import InputError
from rau.evaluation.manifest import COLUMNS, REQUIRED_COLUMNS, read_manifest
from rau.io import read_image
from rau.io.atomic import atomic_folder
from rau.io.label_tables import LABEL_TABLE_SUFFIX
from rau.validation import argument, positive_integer, read_table
from figures import output_folder

ORIGIN = (-40.0, 25.5, 17.25)
OBLIQUE = ((0.9127, -0.3039, 0.2733), (0.3443, 0.9330, -0.1045), (-0.2232, 0.1929, 0.9555))  # 27 degrees about (1, 2, 3)


def one_slice_copy(source: Path, spacing: float | None, target: Path, axis: str, oblique: bool) -> None:
    """``source`` (a picture) written to ``target`` as a volume with one slice along ``axis``."""
    picture = read_image(source, spacing)
    if picture.ndim != 2:
        raise InputError(f"{source}: a 3D image; this script copies 2D pictures only")
    expand = {"k": np.s_[np.newaxis, :, :], "j": np.s_[:, np.newaxis, :], "i": np.s_[:, :, np.newaxis]}[axis]
    volume = sitk.GetImageFromArray(np.ascontiguousarray(picture.array[0][expand]))
    pixel = picture.spacing[0]
    volume.SetSpacing([2.5 if name == axis else pixel for name in "ijk"])
    volume.SetOrigin(ORIGIN)
    direction = np.linalg.qr(np.asarray(OBLIQUE))[0] if oblique else np.eye(3)
    volume.SetDirection((direction * np.sign(np.diag(direction))).ravel().tolist())
    sitk.WriteImage(volume, str(target), useCompression=True)


def copy_names(sources: list[Path], suffix: str) -> dict[Path, str]:
    """Each of ``sources`` (resolved paths) -> its copy's file name: its stem and ``suffix``, or, when files of other
    folders share that stem, its folder's name, ``_``, its stem and ``suffix``."""
    folders: dict[str, set[Path]] = {}
    for source in sources:
        folders.setdefault(stem(source), set()).add(source.parent)
    return {source: (f"{source.parent.name}_" if len(folders[stem(source)]) > 1 else "") + stem(source) + suffix for source in sources}


def stem(path: Path) -> str:
    """``path``'s name up to its first dot (``P4`` of ``P4.nii.gz``)."""
    return path.name.split(".")[0]


def write_copies(folder: Path, copies: list, tables: list, columns: list[str], rows: list[dict], axis: str, oblique: bool) -> None:
    """Write into ``folder`` the ``copies`` (source, spacing, copy in OUT), the label ``tables`` (source, copy in
    OUT) and the manifest of ``rows``."""
    for source, spacing, copy in copies:
        one_slice_copy(source, spacing, folder / copy.name, axis, oblique)
    for sidecar, copy in tables:
        shutil.copy(sidecar, folder / copy.name)
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("out", type=output_folder, help="a new or empty folder for manifest.csv and the copies, each named by its "
                        "file's stem, or by folder and stem where files of different folders share one (images_P4.nrrd)")
    parser.add_argument("--suffix", default=".nrrd", choices=[".nrrd", ".nii.gz", ".mha"])
    parser.add_argument("--axis", default="k", choices=["i", "j", "k"])
    parser.add_argument("--oblique", action="store_true")
    parser.add_argument("--sides", nargs="+", default=["reference", "target"], choices=["reference", "target"])
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), help="copy only the first N rows")
    args = parser.parse_args()
    try:  # read as rau evaluate reads it: a missing or malformed manifest, or a file it names missing, is said first
        read_manifest(args.manifest)
        rows = [row for _, row in read_table(args.manifest, REQUIRED_COLUMNS, "manifest", (*COLUMNS, "structures"))][: args.limit]
    except InputError as error:
        parser.error(str(error))
    columns = list(rows[0])
    inputs = [args.manifest]  # every file read: a copy written over one would change the manifest's data
    copies: list[tuple[Path, float | None, Path]] = []  # (source, its spacing, its copy)
    tables: list[tuple[Path, Path]] = []  # (a source's label table, its copy)
    copied: dict[str, Path] = {}  # each copy's name: the file it copies (two files of one name would be one copy)
    names = copy_names([(args.manifest.parent / row[f"{side}_{kind}"]).resolve() for row in rows for side in args.sides
                        for kind in ("image", "labels")], args.suffix)
    for row in rows:
        for side in ("reference", "target"):
            if side not in args.sides:
                for column in (f"{side}_image", f"{side}_labels"):
                    row[column] = str((args.manifest.parent / row[column]).resolve())
                    inputs.append(Path(row[column]))
                continue
            spacing = float(row[f"{side}_spacing"]) if row.get(f"{side}_spacing") else None
            for column in (f"{side}_image", f"{side}_labels"):
                source = args.manifest.parent / row[column]
                name = names[source.resolve()]
                if copied.setdefault(name, source.resolve()) != source.resolve():
                    parser.error(f"{source} and {copied[name]} would both be copied to {args.out / name}; rename one")
                copies.append((source, spacing, args.out / name))
                sidecar = source.with_name(stem(source) + LABEL_TABLE_SUFFIX)
                if sidecar.exists():
                    tables.append((sidecar, args.out / (stem(Path(name)) + LABEL_TABLE_SUFFIX)))
                row[column] = name
            if row.get(f"{side}_spacing"):
                row[f"{side}_spacing"] = ""
        if row.get("label_table"):
            row["label_table"] = str((args.manifest.parent / row["label_table"]).resolve())
            inputs.append(Path(row["label_table"]))
    read = {path.resolve(): path for path in inputs + [source for source, _, _ in copies] + [source for source, _ in tables]}
    for written in [copy for _, _, copy in copies] + [copy for _, copy in tables] + [args.out / "manifest.csv"]:
        if written.resolve() in read:  # before: the copy was written over its source, then shutil.copy raised SameFileError
            parser.error(f"OUT: {written} would overwrite the input file {read[written.resolve()]}; give another folder")
    if args.out.is_dir() and any(args.out.iterdir()):
        parser.error(f"OUT {args.out} holds files already; give a new or empty folder")
    try:
        with atomic_folder(args.out) as folder:  # a picture that cannot be read leaves no half-filled folder
            write_copies(folder, copies, tables, columns, rows, args.axis, args.oblique)
    except InputError as error:
        parser.error(str(error))
    print(f"wrote {len(rows)} rows to {args.out / 'manifest.csv'}")


if __name__ == "__main__":
    main()
