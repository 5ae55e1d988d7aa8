"""The vessels engine on targets of other sizes than its references: the "no vessels" guard holds whatever the target's
size (it measures the contrast to noise on the target's own pixels, not on the 512 px working grid, whose enlargement of
a small picture smooths its noise), and a target whose field of view (pixel size x pixels, both known) is beyond the
alignment's start scales of a reference's is warned of, naming both fields and the remedy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as Picture
from skimage.transform import downscale_local_mean, resize

from rau.engines import Request, create_engine
from rau.io import read_image
from rau.references import load_reference
from rau.user_warnings import collected_warnings
from rau.vessels.vesselness import MIN_CONTRAST_TO_NOISE, contrast_to_noise


@pytest.fixture(scope="module")
def arcade(shared_data):
    return shared_data / "arcade_syntax_dev"


@pytest.fixture(scope="module")
def reference(arcade):
    return load_reference(arcade / "arcade_train_350_img.png", arcade / "arcade_train_350_lab.png", 1.0, arcade / "labels.csv")


def run(reference, film: np.ndarray, tmp_path):
    """The vessels engine's answer for ``film`` saved as a PNG picture and read back (1 mm pixels)."""
    path = tmp_path / f"target_{film.shape[0]}.png"
    Picture.fromarray(np.clip(np.round(film), 0, 255).astype(np.uint8)).save(path)
    return create_engine("vessels", {"top_k": 1, "deformable": False}).run(Request([reference], read_image(path, 1.0)))


@pytest.mark.parametrize("size", [256, 1024])
def test_a_pure_noise_target_of_any_size_shows_no_vessels(reference, tmp_path, size):
    """Before, a 256 px noise picture, enlarged to the working grid, spanned 51 noise levels there (5.2 on its own
    pixels) and every segment was found with confidence 1.00."""
    noise = 128 + 20 * np.random.default_rng(1).standard_normal((size, size))
    result = run(reference, noise, tmp_path)
    assert not any(item.found for item in result.structures)
    assert all(item.message.startswith("the target shows no vessels: its grey range is 5.") for item in result.structures), \
        result.structures[0].message


@pytest.mark.parametrize("size", [256, 1024])
def test_a_resized_angiogram_still_shows_its_vessels(arcade, reference, tmp_path, size):
    """ARCADE 858 shrunk to 256 px (means of 2 x 2 blocks) spans 94 noise levels, enlarged to 1024 px (bilinear) 750:
    far above the guard (on the 60 ARCADE films, 32-192 shrunk and 233-1213 enlarged)."""
    film = np.asarray(Picture.open(arcade / "arcade_train_858_img.png"), dtype=float)
    resized = downscale_local_mean(film, (2, 2)) if size == 256 else resize(film, (size, size), order=1, preserve_range=True, anti_aliasing=False)
    assert contrast_to_noise(np.round(resized)) > 10 * MIN_CONTRAST_TO_NOISE
    result = run(reference, resized, tmp_path)
    assert sum(item.found for item in result.structures) >= 3
    assert not any(item.message.startswith("the target shows no vessels") for item in result.structures)


def warnings_of(reference, target) -> list[str]:
    with collected_warnings() as said:
        create_engine("vessels", {"top_k": 1, "deformable": False}).run(Request([reference], target))
    return list(said)


def test_a_target_with_twice_the_field_of_the_reference_is_warned_of(arcade, reference, tmp_path):
    """Before, ARCADE 858 padded to 1024 px at 1 mm (the reference 512 px at 1 mm) was segmented silently, badly."""
    film = np.pad(np.asarray(Picture.open(arcade / "arcade_train_858_img.png")), 256, mode="edge")
    Picture.fromarray(film).save(tmp_path / "wide.png")
    said = warnings_of(reference, read_image(tmp_path / "wide.png", 1.0))
    assert any("field of view of 1024 x 1024 mm" in line and "512 x 512 mm" in line and "crop or resize" in line
               for line in said), said


def test_equal_fields_or_pictures_without_pixel_sizes_are_not_warned_of(arcade, reference, tmp_path):
    """A dev pair (equal fields), and the padded target read with no pixel size (its pixels say nothing of its field)."""
    assert not any("field of view" in line for line in warnings_of(reference, read_image(arcade / "arcade_train_858_img.png", 1.0)))
    film = np.pad(np.asarray(Picture.open(arcade / "arcade_train_858_img.png")), 256, mode="edge")
    Picture.fromarray(film).save(tmp_path / "wide.png")
    assert not any("field of view" in line for line in warnings_of(reference, read_image(tmp_path / "wide.png")))
