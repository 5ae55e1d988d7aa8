"""Pictures as inputs: PNG, TIFF, JPEG, palettes, colour, EXIF orientation, pixel limits, masks on their placed images."""

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from rau.errors import InputError
from rau.io import ImageReadError, read_image, read_segmentation


def test_png_reads_as_2d_image_with_given_pixel_size(shared_data):
    image = read_image(shared_data / "hc18_fetal_head_us/images/000_HC.png", pixel_spacing=0.069)
    assert image.ndim == 2 and image.shape == (1, 540, 800) and image.spacing[:2] == (0.069, 0.069)
    with pytest.raises(ImageReadError, match="000_HC.png: pixel spacing must be a positive number, got 0"):
        read_image(shared_data / "hc18_fetal_head_us/images/000_HC.png", pixel_spacing=0)


def _two_structure_label_picture() -> np.ndarray:
    labels = np.zeros((40, 60), np.uint8)
    labels[5:15, 5:20], labels[20:35, 30:50] = 1, 2
    return labels


def test_palette_label_picture_keeps_its_indices(tmp_path):
    from PIL import Image as Picture

    picture = Picture.fromarray(_two_structure_label_picture(), "L").convert("P")
    picture.putpalette([0, 0, 0, 200, 30, 30, 30, 160, 60] + [0] * 759)
    picture.save(tmp_path / "labels.png")
    segmentation = read_segmentation(tmp_path / "labels.png", pixel_spacing=0.5)
    assert segmentation.labels.names == ["label_1", "label_2"]
    assert segmentation.masks["label_1"].sum() == 150 and segmentation.masks["label_2"].sum() == 300


def test_a_big_endian_16_bit_tiff_keeps_its_values(tmp_path):
    """ImageJ writes 16-bit TIFF big-endian (Pillow's mode I;16B); before, it was cut to 8-bit grey: values
    above 255 merged into 255."""
    from PIL import Image as Picture

    values = np.array([[0, 300], [400, 31000]], dtype=">u2")
    Picture.frombytes("I;16B", (2, 2), values.tobytes()).save(tmp_path / "big-endian.tif")
    image = read_image(tmp_path / "big-endian.tif", 0.5)
    assert image.array.dtype == np.uint16 and image.array.reshape(2, 2).tolist() == values.tolist()
    labels = read_segmentation(tmp_path / "big-endian.tif", pixel_spacing=0.5)
    assert labels.labels.names == ["label_300", "label_400", "label_31000"]


def test_colour_label_picture_is_refused_and_a_grey_one_in_colour_is_read(tmp_path):
    from PIL import Image as Picture

    labels = _two_structure_label_picture()
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 130, 0]], np.uint8)[labels]
    Picture.fromarray(colours, "RGB").save(tmp_path / "colour.png")
    with pytest.raises(ImageReadError, match="colour.png: a colour label map"):
        read_segmentation(tmp_path / "colour.png", pixel_spacing=0.5)
    Picture.fromarray(np.repeat(labels[..., None], 3, axis=2), "RGB").save(tmp_path / "grey.png")
    assert read_segmentation(tmp_path / "grey.png", pixel_spacing=0.5).labels.names == ["label_1", "label_2"]


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_a_label_picture_drawn_in_transparency_is_refused_and_a_transparent_background_is_read(tmp_path, mode):
    """Before, shapes drawn only by the alpha channel (white everywhere) were read as one structure over the picture."""
    labels = _two_structure_label_picture()
    channels = 1 if mode == "LA" else 3
    alpha = np.where(labels > 0, 255, 0).astype(np.uint8)
    drawn = np.dstack([np.full(labels.shape, 255, np.uint8)] * channels + [alpha])
    PILImage.fromarray(drawn, mode).save(tmp_path / "drawn.png")
    with pytest.raises(ImageReadError, match=f"drawn.png: a label picture whose transparent pixels hold label values \\({mode}"):
        read_segmentation(tmp_path / "drawn.png", pixel_spacing=0.5)
    PILImage.fromarray(np.dstack([labels] * channels + [alpha]), mode).save(tmp_path / "clear.png")
    assert np.array_equal(read_segmentation(tmp_path / "clear.png", pixel_spacing=0.5).to_label_map().array[0], labels)


def test_a_mask_picture_lies_on_its_placed_2d_image_pixel_for_pixel(tmp_path):
    """A PNG mask drawn on a DICOM or NRRD X-ray has no pixel size or position: with the image's pixels it takes
    the image's grid (before, it was read as 1 mm pixels at 0 and refused as covering another region)."""
    labels = _two_structure_label_picture()
    placed = sitk.GetImageFromArray(np.zeros(labels.shape, np.float32))
    placed.SetSpacing((0.2, 0.25))
    placed.SetOrigin((5.0, 7.0))
    sitk.WriteImage(placed, str(tmp_path / "xray.nrrd"))
    PILImage.fromarray(labels).save(tmp_path / "mask.png")
    image = read_image(tmp_path / "xray.nrrd")
    segmentation = read_segmentation(tmp_path / "mask.png", geometry=image, image_path=tmp_path / "xray.nrrd")
    assert segmentation.geometry.same_grid(image)
    np.testing.assert_array_equal(segmentation.masks["label_2"][0], labels == 2)
    PILImage.fromarray(labels[:, :50]).save(tmp_path / "cropped.png")
    with pytest.raises(InputError, match="cropped.png: labels are a picture of 50x40 px without a pixel size but the image xray.nrrd "
                                         "is 60x40 px of 0.2x0.25 mm;"):  # before: its extent in px against the image's in mm
        read_segmentation(tmp_path / "cropped.png", geometry=image, image_path=tmp_path / "xray.nrrd")


def test_a_mask_picture_on_an_image_with_rows_and_columns_swapped_is_refused_naming_their_pixels(tmp_path):
    """Before: "labels cover [-0.5..59.5, -0.5..39.5] px but the image turned.nrrd covers [-0.1..7.9, -0.1..14.9] mm",
    extents in units that do not compare, and not the mismatch: 60x40 pixels against 40x60."""
    PILImage.fromarray(_two_structure_label_picture()).save(tmp_path / "mask.png")
    turned = sitk.GetImageFromArray(np.zeros((60, 40), np.float32))  # the picture's rows stored as columns
    turned.SetSpacing((0.2, 0.25))
    sitk.WriteImage(turned, str(tmp_path / "turned.nrrd"))
    image = read_image(tmp_path / "turned.nrrd")
    with pytest.raises(InputError) as refused:
        read_segmentation(tmp_path / "mask.png", geometry=image, image_path=tmp_path / "turned.nrrd")
    assert str(refused.value) == (f"{tmp_path / 'mask.png'}: labels are a picture of 60x40 px without a pixel size but the image "
                                  "turned.nrrd is 40x60 px of 0.2x0.25 mm; are they the same picture, with the same rows, columns and pixel size?")


def test_a_jpeg_label_map_is_refused_by_its_content_not_its_name(tmp_path):
    """Before, the name decided: JPEG labels named .png were read (stray values became structures), and PNG
    labels named .jpg were refused as JPEG."""
    mask = PILImage.fromarray(np.where(np.arange(64).reshape(8, 8) > 20, 255, 0).astype(np.uint8))
    mask.save(tmp_path / "mask.jpg")
    mask.save(tmp_path / "lossy.png", format="JPEG")
    mask.save(tmp_path / "lossless.jpg", format="PNG")
    mask.convert("RGB").save(tmp_path / "lossy.tif", compression="jpeg")
    for name in ("mask.jpg", "lossy.png", "lossy.tif"):
        with pytest.raises(ImageReadError, match=f"{name}: a JPEG label map \\(JPEG-compressed, whatever its name\\); JPEG compression changes label values"):
            read_segmentation(tmp_path / name)
    assert read_image(tmp_path / "mask.jpg").ndim == 2  # as an image it is fine
    assert np.array_equal(read_segmentation(tmp_path / "lossless.jpg").masks["label_255"][0], np.asarray(mask) == 255)


@pytest.mark.parametrize("label_map", [False, True], ids=["image", "labels"])
def test_a_picture_whose_exif_tag_turns_it_is_refused(tmp_path, label_map):
    """Viewers turn such a picture (a phone's photo of a film), ITK and Slicer do not (a TIFF only in part: ITK's TIFF
    reader turns some orientations); before, it was read as stored
    without a word: a chest X-ray stored sideways got every structure 'found' at Dice 0."""
    picture = PILImage.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8))
    exif = picture.getexif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to view
    picture.save(tmp_path / "turned.png", exif=exif)
    picture.save(tmp_path / "upright.png", exif=PILImage.Exif())
    exif[0x0112] = 0  # written by some scanners; viewers show it as stored
    picture.save(tmp_path / "zero.png", exif=exif)
    assert read_image(tmp_path / "zero.png").shape == (1, 6, 8)
    with pytest.raises(ImageReadError, match=r"turned.png: its EXIF orientation tag \(6\) asks viewers to turn or mirror the picture, "
                                             r"which ITK and Slicer do not do, or for a TIFF only in part;"):
        read_segmentation(tmp_path / "turned.png") if label_map else read_image(tmp_path / "turned.png")
    assert read_image(tmp_path / "upright.png").shape == (1, 6, 8)


def test_a_label_picture_with_a_palette_of_greys_gives_the_greys_it_shows(tmp_path):
    """A PNG optimiser may store grey labels as a palette in any order; viewers, ITK and Slicer show the greys. Before,
    the palette's indices were taken, so names landed on other regions. A coloured palette keeps its indices."""
    values = np.repeat(np.arange(4, dtype=np.uint8), 4).reshape(4, 4)
    picture = PILImage.fromarray(values[::-1].copy(), mode="P")
    grey_order = [3, 2, 1, 0]  # index i shows grey 3 - i
    picture.putpalette([level for grey in grey_order for level in (grey, grey, grey)])
    picture.save(tmp_path / "greys.png")
    assert np.array_equal(read_image(tmp_path / "greys.png", label_map=True).array[0], np.array(grey_order, np.uint8)[values[::-1]])
    picture.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.save(tmp_path / "colours.png")
    assert np.array_equal(read_image(tmp_path / "colours.png", label_map=True).array[0], values[::-1])
    picture.putpalette([0, 0, 0, 255, 255, 255, 255, 255, 255, 9, 9, 9])  # two labels shown alike: their greys would merge them
    picture.save(tmp_path / "alike.png")
    assert np.array_equal(read_image(tmp_path / "alike.png", label_map=True).array[0], values[::-1])


def test_a_picture_beyond_the_pixel_limit_is_refused_from_its_header_alone(tmp_path):
    """Below Pillow's own limit the header is all that is read (reading the EXIF first decoded the whole picture),
    and above it rau's message, not Pillow's "decompression bomb DOS attack", names the problem."""
    from bad_input_cases import _png_header_only

    (tmp_path / "big.png").write_bytes(_png_header_only(12000, 10000))
    with pytest.raises(ImageReadError, match="big.png: picture claims 12000x10000 pixels, more than the limit of 100,000,000"):
        read_image(tmp_path / "big.png")
    (tmp_path / "huge.png").write_bytes(_png_header_only(20000, 10000))
    with pytest.raises(ImageReadError, match="huge.png: picture claims 200,000,000 pixels, more than the limit of 100,000,000"):
        read_image(tmp_path / "huge.png")


def _write_colour(array: np.ndarray, path) -> None:
    """Write ``array`` (last axis: channels) as a colour picture of its depth, as SimpleITK writes it."""
    sitk.WriteImage(sitk.GetImageFromArray(array, isVector=True), str(path))


@pytest.mark.parametrize("value", [300, 1])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_colour_label_picture_reads_its_value(tmp_path, suffix, value):
    """Pillow reads 16 bits per channel as their high byte: before, label 300 in three equal channels was read as
    label 1, and label 1 as no label at all ("every value is 0")."""
    labels = np.where(_two_structure_label_picture() > 0, value, 0).astype(np.uint16)
    _write_colour(np.dstack([labels] * 3), tmp_path / f"labels{suffix}")
    assert read_segmentation(tmp_path / f"labels{suffix}", pixel_spacing=0.5).labels.names == [f"label_{value}"]
    assert np.array_equal(read_image(tmp_path / f"labels{suffix}", label_map=True).array[0], labels)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_16_bit_colour_image_reads_at_full_depth_as_its_grey_and_as_the_same_colour_volume(tmp_path, suffix):
    """A 12-bit X-ray saved as 16-bit RGB: before, it was read as its high byte (0..14); it reads as the same pixels
    saved as a 16-bit grey picture, and a tinted one as its colour NRRD (the grey rule of 8-bit colour, at full depth)."""
    grey = (np.arange(40 * 60).reshape(40, 60) * 37 % 3745).astype(np.uint16)
    sitk.WriteImage(sitk.GetImageFromArray(grey), str(tmp_path / "grey.png"))
    _write_colour(np.dstack([grey] * 3), tmp_path / f"colour{suffix}")
    assert np.array_equal(read_image(tmp_path / f"colour{suffix}", 0.5).array, read_image(tmp_path / "grey.png", 0.5).array)
    tinted = np.dstack([grey, grey // 2, 3745 - grey])
    _write_colour(tinted, tmp_path / f"tinted{suffix}")
    _write_colour(tinted[None], tmp_path / "tinted.nrrd")
    image = read_image(tmp_path / f"tinted{suffix}", 0.5)
    assert image.array.dtype == np.uint16 and image.array.max() > 255
    assert np.array_equal(image.array, read_image(tmp_path / "tinted.nrrd").array)


def test_a_16_bit_grey_and_alpha_png_reads_at_full_depth_as_an_8_bit_one_does(tmp_path):
    """Neither Pillow (the high byte) nor SimpleITK reads a 16-bit grey + alpha PNG at full depth: before, it was
    refused ("cannot read at full depth"). Its grey reads as stored, and as a label map its alpha keeps the 8-bit
    rule: a transparent background is read, shapes drawn in transparency are refused."""
    grey = (np.arange(40 * 60).reshape(40, 60) * 37 % 3745).astype(np.uint16)
    _write_colour(np.dstack([grey, np.full_like(grey, 65535)]), tmp_path / "grey-alpha.png")
    image = read_image(tmp_path / "grey-alpha.png", 0.5)
    assert image.array.dtype == np.uint16 and image.array.max() > 255 and np.array_equal(image.array[0], grey)
    labels = _two_structure_label_picture().astype(np.uint16) * 300  # 300 and 600
    alpha = np.where(labels > 0, 65535, 0).astype(np.uint16)
    _write_colour(np.dstack([labels, alpha]), tmp_path / "clear.png")
    assert np.array_equal(read_image(tmp_path / "clear.png", label_map=True).array[0], labels)
    _write_colour(np.dstack([np.full_like(labels, 300), alpha]), tmp_path / "drawn.png")
    with pytest.raises(ImageReadError, match="drawn.png: a label picture whose transparent pixels hold label values"):
        read_image(tmp_path / "drawn.png", label_map=True)


def test_a_picture_over_pillows_limit_but_within_raus_opens_without_a_warning(tmp_path):
    """Pillow warns of a "decompression bomb" above its limit (about 89 million pixels), below rau's: nothing is said."""
    import warnings

    from bad_input_cases import _png_header_only
    from rau.io.images import picture_bytes

    (tmp_path / "large.png").write_bytes(_png_header_only(10000, 9500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert picture_bytes(tmp_path / "large.png") == 95_000_000
    assert PILImage.MAX_IMAGE_PIXELS < 95_000_000
