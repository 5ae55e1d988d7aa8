"""The chest X-ray development set: JSRT radiographs with the SCR manual outlines of the lungs, the
heart and the clavicles, as 20 reference -> target pairs of 40 patients, at 224 px and at 1024 px.

Run: python benchmarks/make_jsrt_chest_xray_set.py IMAGES MASKS OUT_DIR

- IMAGES: the 247 JSRT radiographs at 224 x 224 (e.g. ``dataset/images`` of a clone of
  github.com/venkatasai3005/lung-segmentation-unet, commit 1fe31ab).
- MASKS: the SCR masks at 1024 x 1024, one folder per structure (a clone of
  github.com/revygabor/JSRT_segmentation_masks, commit c3e0381). Its folders are named by image side:
  its ``left_lung`` is the patient's right lung.

Neither repository states a licence; JSRT (Shiraishi et al. 2000) and SCR (van Ginneken et al. 2006)
are free for research, so the set is built on the user's machine, not shipped. JSRT films are
2048 px at 0.175 mm, so the 224 px copies have 1.6 mm pixels. Writes ``images/`` + ``labels/`` (224 px,
masks reduced by area averaging, > 0.5), ``images1024/`` (bicubic upsampling of the 224 px images) +
``labels1024/`` (the native masks, 0.35 mm), label tables, ``manifest.csv`` and ``manifest1024.csv``
for bench_accuracy.py / rau evaluate, and ``manifest_multi.csv`` / ``manifest1024_multi.csv``: each
target with all 20 reference films (a multi-reference case). Labels: 1 right lung, 2 left lung, 3 heart, 4 right clavicle,
5 left clavicle (patient sides); the clavicles are painted over the lungs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from rau.evaluation.manifest import write_manifest
from figures import add_out_argument

FILM_MM = 0.175 * 2048
SEED = 2025
PAIRS = 20
STRUCTURES = [(1, "right lung", "left_lung"), (2, "left lung", "right_lung"), (3, "heart", "heart"),
              (4, "right clavicle", "left_clavicle"), (5, "left clavicle", "right_clavicle")]
"""Label value, name (patient side), SCR folder (image side)."""


def pairs(names: list[str]) -> list[tuple[str, str]]:
    """``PAIRS`` reference -> target pairs of distinct patients, drawn with a fixed seed."""
    order = np.random.default_rng(SEED).choice(len(names), 2 * PAIRS, replace=False)
    return [(names[order[2 * i]], names[order[2 * i + 1]]) for i in range(PAIRS)]


def label_map(masks: Path, name: str, size: int) -> np.ndarray:
    """The SCR masks of one film as one label map of ``size`` pixels a side (later structures on top)."""
    labels = np.zeros((size, size), np.uint8)
    for value, _, folder in STRUCTURES:
        full = Image.open(masks / folder / f"{name}.png").convert("L")
        small = full if full.size == (size, size) else full.resize((size, size), Image.BOX)
        labels[np.asarray(small, dtype=np.float32) / 255.0 > 0.5] = value
    return labels


def write_set(images: Path, masks: Path, out: Path, size: int, chosen: list[tuple[str, str]], suffix: str) -> None:
    """Images, label maps and the manifests of one resolution."""
    image_dir, label_dir = out / f"images{suffix}", out / f"labels{suffix}"
    image_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(exist_ok=True)
    for name in sorted({name for pair in chosen for name in pair}):
        picture = Image.open(images / f"{name}.png").convert("L")
        if picture.size != (size, size):
            picture = picture.resize((size, size), Image.BICUBIC)
        picture.save(image_dir / f"{name}.png")
        Image.fromarray(label_map(masks, name, size)).save(label_dir / f"{name}.png")
    spacing = f"{FILM_MM / size:.6f}"
    every_reference = [(reference, target) for _, target in chosen for reference, _ in chosen]
    for name, pairs_of_films in ((f"manifest{suffix}.csv", chosen), (f"manifest{suffix}_multi.csv", every_reference)):
        write_manifest(out / name, [
            {"reference_image": f"images{suffix}/{reference}.png", "reference_labels": f"labels{suffix}/{reference}.png",
             "reference_spacing": spacing, "target_image": f"images{suffix}/{target}.png",
             "target_labels": f"labels{suffix}/{target}.png", "target_spacing": spacing, "label_table": "labels.csv"}
            for reference, target in pairs_of_films
        ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", type=Path, help="folder of the 247 JSRT PNGs at 224 px")
    parser.add_argument("masks", type=Path, help="SCR masks: folder with heart/, left_lung/, ... at 1024 px")
    add_out_argument(parser)
    args = parser.parse_args()
    names = sorted(path.stem for path in args.images.glob("*.png"))
    if len(names) < 2 * PAIRS:
        sys.exit(f"error: {args.images}: {len(names)} PNG images, {2 * PAIRS} or more needed")
    chosen = pairs(names)
    expected = [args.masks / folder / f"{name}.png" for name in sorted({name for pair in chosen for name in pair}) for _, _, folder in STRUCTURES]
    missing = [path for path in expected if not path.is_file()]
    if missing:
        sys.exit(f"error: {missing[0]}: missing SCR mask ({len(missing)} missing); nothing written")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("value", "name"), *((value, name) for value, name, _ in STRUCTURES)])
    write_set(args.images, args.masks, args.out, 224, chosen, "")
    write_set(args.images, args.masks, args.out, 1024, chosen, "1024")
    print(f"{len(chosen)} pairs written to {args.out}/manifest.csv and manifest1024.csv (and *_multi.csv)")


if __name__ == "__main__":
    main()
