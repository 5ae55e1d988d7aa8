"""HC18's 20 single-reference pairs with their targets changed six ways, in ways no reader would notice (the
references as they are). Run: python benchmarks/make_hc18_variants.py OUT_DIR [--protocol MANIFEST] [--limit N]
[--data SHARED_DATA] (default protocols/hc18_single.csv on $RAU_SHARED_DATA, else ../shared/data beside the repository).

The target of protocol row n (counted from 0) and its mask become, in ``OUT_DIR/<variant>``:
  half    image: the mean of each 2 x 2 block (rows and columns cut to an even number), rounded; mask: every other
          row and column of that even part; pixel size x 2
  noise   image + whole numbers drawn uniformly from -1, 0 and 1 (numpy default_rng(67 + n)), clipped to 0..255
  crop    image and mask without their first row and first column; pixel size kept
  r075    image: PIL resize to round(0.75 w) x round(0.75 h), bilinear; mask: nearest neighbour; pixel size / 0.75
  invert  255 - image
  lowc    round(0.25 x image + 96 + N(0, 1)) (its own default_rng(67 + n)), clipped to 0..255
Each folder holds images/*.png, masks/*.png (the target's file names) and manifest.csv for rau evaluate or
bench_accuracy.py: targets named relative to it, references by their absolute path in the shared data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from rau.evaluation.manifest import write_manifest
from rau.validation import argument, positive_integer
from figures import add_out_argument
from shared_data import PROTOCOLS, add_data_argument, check_data, protocol_files, protocol_path, protocol_rows

SEED = 67
"""Row n's noise (``noise``, ``lowc``) is drawn from numpy's default_rng(SEED + n)."""


def half(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Half the resolution at twice the pixel size: 2 x 2 block means, the mask's every other row and column."""
    rows, columns = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    blocks = image[:rows, :columns].astype(np.float64).reshape(rows // 2, 2, columns // 2, 2).mean(axis=(1, 3))
    return np.round(blocks).astype(np.uint8), mask[:rows:2, :columns:2].copy(), pixel * 2


def noise(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """+-1 grey level of noise."""
    noisy = image.astype(np.float64) + np.random.default_rng(seed).integers(-1, 2, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8), mask, pixel


def crop(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The first row and column cut off."""
    return image[1:, 1:].copy(), mask[1:, 1:].copy(), pixel


def r075(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Resized to 0.75 (PIL: bilinear for the image, nearest neighbour for the mask)."""
    size = (round(0.75 * image.shape[1]), round(0.75 * image.shape[0]))
    return (np.asarray(PILImage.fromarray(image).resize(size, PILImage.BILINEAR)),
            np.asarray(PILImage.fromarray(mask).resize(size, PILImage.NEAREST)), pixel / 0.75)


def invert(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Inverted contrast."""
    return (255 - image).astype(np.uint8), mask, pixel


def lowc(image: np.ndarray, mask: np.ndarray, pixel: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """25 % contrast about grey 96, with noise of SD 1."""
    faint = np.round(0.25 * image.astype(np.float64) + 96 + np.random.default_rng(seed).normal(0, 1, image.shape))
    return np.clip(faint, 0, 255).astype(np.uint8), mask, pixel


VARIANTS = {change.__name__: change for change in (half, noise, crop, r075, invert, lowc)}
"""Each variant: (target image, mask, pixel size, seed) -> the changed image, mask and pixel size."""


def grey(path: Path) -> np.ndarray:
    """A picture as 8-bit grey values."""
    return np.asarray(PILImage.open(path).convert("L"))


def write_variants(protocol: Path, data: Path, out: Path, rows: list[dict]) -> None:
    """Every variant of each of the protocol's ``rows`` (row n: seed SEED + n) into ``out/<variant>``."""
    manifests: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for n, row in enumerate(rows):
        named = {column: protocol_path(row[column], protocol, data) for column in ("reference_image", "reference_labels", "target_image", "target_labels")}
        image, mask = grey(named["target_image"]), grey(named["target_labels"])
        for name, change in VARIANTS.items():
            changed_image, changed_mask, pixel = change(image, mask, float(row["target_spacing"]), SEED + n)
            image_name, mask_name = f"images/{named['target_image'].name}", f"masks/{named['target_labels'].name}"
            for file, array in ((image_name, changed_image), (mask_name, changed_mask)):
                (out / name / file).parent.mkdir(parents=True, exist_ok=True)
                PILImage.fromarray(array).save(out / name / file)
            manifests[name].append({"reference_image": str(named["reference_image"]), "reference_labels": str(named["reference_labels"]),
                                    "reference_spacing": row["reference_spacing"], "target_image": image_name,
                                    "target_labels": mask_name, "target_spacing": repr(pixel)})
    for name, manifest_rows in manifests.items():
        write_manifest(out / name / "manifest.csv", manifest_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_out_argument(parser)
    parser.add_argument("--protocol", type=Path, default=PROTOCOLS / "hc18_single.csv", help="the pairs to change (default: %(default)s)")
    parser.add_argument("--limit", type=argument(positive_integer, "--limit"), help="change only the first N rows")
    add_data_argument(parser)
    arguments = parser.parse_args()
    if not arguments.protocol.is_file():
        parser.error(f"--protocol {arguments.protocol}: no such file")
    check_data(parser, arguments.data, protocol_files(arguments.protocol))
    rows = protocol_rows(arguments.protocol)[: arguments.limit]
    targets = [row["target_image"] for row in rows]
    if twice := next((target for target in targets if targets.count(target) > 1), None):
        parser.error(f"--protocol names the target {twice} more than once; give one row per target (each row's noise is its own)")
    write_variants(arguments.protocol, arguments.data, arguments.out, rows)
    print(f"wrote {len(rows)} pairs of each of {', '.join(VARIANTS)} under {arguments.out}")


if __name__ == "__main__":
    main()
