"""Segmentation readers and writers: Slicer .seg.nrrd, label maps with a label table, mask pictures."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import numbers
import re
from pathlib import Path

import numpy as np
import slicerio
from slicerio.segmentation import terminology_entry_from_string, terminology_entry_to_string

from rau import validation
from rau.errors import InputError, about
from rau.image import GRID_TOLERANCE_MM, RAS_FROM_LPS, Image, as_loaded_in_slicer, resample_mask
from rau.io.atomic import atomic_path, check_writable
from rau.io.images import IMAGE_SUFFIXES, ImageReadError, read_image, slicer_dicom_note, slicer_dicom_view, without_pixel_size, write_image
from rau.io.label_tables import LABEL_TABLE_SUFFIX, SIDECAR_SUFFIXES, label_tables_beside, read_label_table, write_label_table
from rau.io.segment_layers import add_segment
from rau.labels import RAU_TAG, LabelSet, Segmentation, Structure, default_color, names_in_words, normalize_name, segment_values, tagged_value
from rau.user_warnings import warn

LPS_TO_IJK_ORDER = (2, 1, 0)
TEXT_STAND_IN = "rau-text"
"""What pynrrd writes for a name or terminology; :func:`_finish_header` puts the text, escaped, in its place."""
BINARY_LABELMAP = "Binary labelmap"
"""The representation a ``.seg.nrrd`` holds its segments in."""
REFERENCE_GEOMETRY_ABOUT = ("Image geometry description string determining the geometry of the labelmap that is created in course of "
                            "conversion. Can be copied from a volume, using the button.")
"""Slicer's description of its "Reference image geometry" conversion parameter, written with it as Slicer does."""
NRRD_ESCAPES = {"\\": "\\\\", "\n": "\\n"}
"""How a NRRD header's key/value field holds a backslash and a line break: teem's rule, so Slicer's (the ITK NRRD
reader and Slicer's writer are teem); pynrrd leaves fields as written, so rau escapes (:func:`nrrd_field`) and
unescapes (:func:`nrrd_text`) them itself."""


def read_segmentation(path, geometry: Image | None = None, label_table=None, pixel_spacing: float | None = None, image_path=None) -> Segmentation:
    """Read a segmentation as per-structure masks.

    ``.seg.nrrd`` keeps Slicer's names, colors and terminology (overlapping layers
    included). A label map (NIfTI, NRRD, PNG ...) takes names and colors from
    ``label_table`` (a file or a :class:`~rau.labels.LabelSet`) or from a sidecar found next to it (see
    :func:`rau.io.label_tables.find_label_table`), else names are ``label_<value>``.
    With ``geometry`` (read from ``image_path``) the masks are resampled onto that grid in
    physical space (by nearest neighbour: a structure covering none of its voxel centres is left empty and listed in
    the segmentation's ``lost_on_grid``); they must cover the same region (a ``.seg.nrrd``, 2D or 3D, may cover less or lie on a larger or
    turned grid, as long as its labelled voxels lie inside; one drawn on a picture lies where Slicer put the picture,
    :func:`rau.image.as_loaded_in_slicer`).
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    validation.check_not_special(path)
    if path.name.lower().endswith(SIDECAR_SUFFIXES) or path.suffix.lower() in (".csv", ".tsv"):
        raise ImageReadError(f"{path}: a label table, not labels; give the label map or segmentation (NIfTI, NRRD, PNG, .seg.nrrd), "
                             "and the table with --label-table (a manifest's label_table column)")
    seg_nrrd = path.name.lower().endswith(".seg.nrrd")
    if seg_nrrd:
        segmentation = _read_seg_nrrd(path, label_table, geometry)
    else:
        labels = _table_labels(path, label_table)
        picture = without_pixel_size(path) is not None
        label_map = read_image(path, pixel_spacing if picture else None, label_map=True)
        if picture:
            label_map = _picture_on_its_image(label_map, geometry)
        structures = validation.check_label_values(label_map, path)
        if problem := validation.edge_only_values_problem(label_map, path):
            warn(problem)
        if geometry is not None:
            validation.check_not_swapped(geometry, label_map, structures, image_path, path)
        segmentation = _named(path, label_map, labels, label_table)
    empty_seg_nrrd = seg_nrrd and not any(mask.any() for mask in segmentation.masks.values())  # Slicer writes a 1x1x1 grid
    if geometry is not None and empty_seg_nrrd:
        segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), segmentation.labels,
                                    {name: np.zeros(geometry.shape, bool) for name in segmentation.masks})
    elif geometry is not None and not segmentation.geometry.same_grid(geometry):
        # a Slicer segmentation of a picture lies where Slicer put the picture, at the pixel size it had there
        onto = as_loaded_in_slicer(geometry, _pixel_size_in_slicer(segmentation.geometry, geometry, pixel_spacing)) if seg_nrrd else geometry
        _check_not_on_slicer_view(segmentation, seg_nrrd, image_path, path)
        if seg_nrrd:  # its voxels must lie inside, as Slicer checks a segment; its grid may be larger or turned
            validation.check_labelled_inside(onto, segmentation.geometry, segmentation.union(), image_path, path)
        else:
            units = functools.partial(_extent_units, image_path, path, pixel_spacing)
            validation.check_same_extent(onto, segmentation.geometry, image_path, path, units=units)
        segmentation = resample_segmentation(segmentation, onto)
        if onto is not geometry:  # the same pixels, on the picture as it is
            segmentation = dataclasses.replace(segmentation, geometry=geometry.with_array(np.zeros(geometry.shape, np.uint8)))
    elif geometry is not None:  # same grid: take the image's geometry, so a 2D image's .seg.nrrd is 2D too
        segmentation = Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), segmentation.labels, segmentation.masks)
    return segmentation


def _check_not_on_slicer_view(segmentation: Segmentation, seg_nrrd: bool, image_path, path: Path) -> None:
    """Refuse, saying why (:func:`rau.io.images.slicer_dicom_note`), labels drawn in Slicer on a DICOM image that rau
    reads at another size than ITK (:func:`rau.io.images.slicer_dicom_view`): at ITK's spacing, lying on the image as
    ITK reads it (a label map covering it, a ``.seg.nrrd``'s labelled voxels inside it)."""
    view = slicer_dicom_view(image_path) if image_path is not None else None
    labels = segmentation.geometry
    if view is None or labels.ndim != view.ndim or not np.allclose(labels.spacing[: view.ndim], view.spacing[: view.ndim], atol=GRID_TOLERANCE_MM):
        return
    try:
        if seg_nrrd:
            validation.check_labelled_inside(view, labels, segmentation.union(), image_path, path)
        else:
            validation.check_same_extent(view, labels, image_path, path)
    except InputError:  # not on the image as Slicer shows it either
        return
    raise InputError(f"{path}: labels on the grid of {Path(image_path).name} as Slicer shows it, not as rau reads it; {slicer_dicom_note(image_path)}")


def names_its_segments(path) -> bool:
    """Whether ``path`` is a Slicer segmentation with segments (a ``.seg.nrrd`` whose header lists them), which carry
    their own names, not a label map saved under that name, whose values a label table names."""
    import nrrd

    if not Path(path).name.lower().endswith(".seg.nrrd"):
        return False
    try:
        header = nrrd.read_header(str(path))
    except Exception:  # noqa: BLE001  (pynrrd raises many types for a damaged file; reading it says why)
        return False
    return any(re.fullmatch(r"Segment\d+_ID", key) for key in header)


def _pixel_size_in_slicer(drawn: Image, picture: Image, pixel_spacing) -> tuple[float, float]:
    """The pixel size (mm) a picture had in Slicer when the ``.seg.nrrd`` whose grid is ``drawn`` was made on it: the
    segmentation's own, unless a pixel size was given for the picture and the segmentation's grid spans the whole
    picture at that size (a mask of the whole picture at another resolution, as SCR's 1024 px masks of 2048 px
    chest films): then the picture lies at the size given, and the masks are resampled onto it in physical space."""
    own = tuple(drawn.spacing[:2])
    if pixel_spacing is None or picture.ndim != 2:
        return own
    span = np.array(drawn.size[:2]) * np.array(own)
    whole = np.array(picture.size[:2]) * np.array(picture.spacing[:2])
    return tuple(picture.spacing[:2]) if np.allclose(span, whole, atol=max(own)) else own


def _table_labels(path: Path, label_table) -> LabelSet | None:
    """The names of a label map's values: ``label_table`` (a file, or a :class:`~rau.labels.LabelSet` made in code),
    else the first sidecar (:func:`~rau.io.label_tables.label_tables_beside`); a file read is checked against the
    map's (other) sidecars, which give the values it does not name their names, and those it names without a colour
    their colours (:func:`_with_sidecar`); else None."""
    if isinstance(label_table, LabelSet):  # made in code (e.g. a run's own labels), not a user's table
        return label_table
    sidecars = label_tables_beside(path)
    table_path = Path(label_table) if label_table else next(iter(sidecars), None)
    labels = read_label_table(table_path) if table_path else None
    read = f"the label table given for it ({table_path})" if label_table else f"{table_path} (the one read)"
    for sidecar in sidecars if label_table else sidecars[1:]:
        own = read_label_table(sidecar)
        check_tables_agree(path, sidecar, own, labels, read)
        labels = _with_sidecar(path, sidecar, own, labels, read)
    return labels


def _with_sidecar(path: Path, sidecar: Path, own: LabelSet, read: LabelSet, said: str) -> LabelSet:
    """``read`` (``said``: which table, in words) with what the label map's own ``sidecar`` (``own``, as read) gives
    that ``read`` does not: the names of the values ``read`` does not name (a table for several maps
    need not list every map's values; a second sidecar may name more), and the colours of the values ``read`` names
    without one (a JSON table of names keeps the sidecar's colours). A name the two give to different values is refused."""
    extra = [structure for structure in own if read.by_value(structure.value) is None]
    for structure in extra:
        if (taken := read.find(structure.name)) is not None:
            raise InputError(f"{path}: its own label table {sidecar} names value {structure.value} {structure.name!r}, but {said} "
                             f"gives that name to value {taken.value}; remove or correct one of them")
    colours = {structure.value: structure.color for structure in own if own.colored is None or structure.value in own.colored}
    missing = set() if read.colored is None else {structure.value for structure in read if structure.value not in read.colored} & set(colours)
    if not extra and not missing:
        return read
    structures = [dataclasses.replace(structure, color=colours[structure.value]) if structure.value in missing else structure for structure in read]
    structures += extra
    colored = None if read.colored is None else read.colored | missing | {structure.value for structure in extra if structure.value in colours}
    return LabelSet(tuple(structures), named=read.named, colored=colored)


def _named(path: Path, label_map: Image, labels: LabelSet | None, label_table) -> Segmentation:
    """The label map's structures, named by ``labels`` (read from ``label_table``, the table given, or a sidecar), in
    label-value order whatever the order of the table's rows, as Slicer imports a label map with a colour table (this
    order decides which structure keeps a voxel several are fused onto); the values a user's table does not name are
    reported. A :class:`~rau.labels.LabelSet` made in code (e.g. a run's own structures, when ``rau correct`` runs an
    engine again) keeps its order, and its unlisted values are not reported."""
    try:
        segmentation = Segmentation.from_label_map(label_map, labels)
    except InputError as error:  # e.g. a table naming a value as another value's made-up name
        raise InputError(about(path, error)) from None
    if isinstance(label_table, LabelSet):
        return segmentation
    if labels is not None:
        warn_unnamed(path, segmentation.labels, labels)
    by_value = sorted(segmentation.labels, key=lambda structure: structure.value)
    return dataclasses.replace(segmentation, labels=dataclasses.replace(segmentation.labels, structures=tuple(by_value)))


def check_tables_agree(path: Path, sidecar: Path, own: LabelSet, read: LabelSet, said: str) -> None:
    """Refuse a label table ``read`` for the label map ``path`` (``said``: which, in words) that names one of its values
    otherwise than a ``sidecar`` beside the map (``own``, as read) does (one of the two belongs to other labels: which,
    only the user knows)."""
    for structure in own:
        other = read.by_value(structure.value)
        if other is not None and normalize_name(other.name) != normalize_name(structure.name):
            raise InputError(f"{path}: its own label table {sidecar} names value {structure.value} {structure.name!r}, but {said} "
                             f"names it {other.name!r}; remove or correct one of them")


def warn_unnamed(path: Path, found: LabelSet, table: LabelSet) -> None:
    """Tell the user which values of the label map ``path`` its label table does not name (they get made-up names)."""
    unnamed = [structure for structure in found if table.by_value(structure.value) is None]
    if unnamed:
        values = ", ".join(str(structure.value) for structure in unnamed)
        names = names_in_words([structure.name for structure in unnamed])
        warn(f"{path} has label value(s) {values} that its label table does not name; they are called {names}")


def _extent_units(image_path, labels_path, pixel_spacing) -> tuple[str, str]:
    """What the image's and the labels' extents are measured in: ``px`` for a file without a pixel size of its own
    when none was given (read as 1 mm pixels), else ``mm``."""
    return tuple("px" if pixel_spacing is None and file and without_pixel_size(file) else "mm" for file in (image_path, labels_path))


def _picture_on_its_image(label_map: Image, geometry: Image | None) -> Image:
    """A picture label map (it has no place) with the same pixels as its 2D image lies on that image's grid,
    pixel for pixel, whatever the image's pixel size and position (e.g. a PNG mask of a DICOM X-ray)."""
    if geometry is not None and geometry.ndim == 2 and label_map.shape == geometry.shape:
        return geometry.with_array(label_map.array)
    return label_map


def resample_segmentation(segmentation: Segmentation, geometry: Image) -> Segmentation:
    """The same structures on another grid (nearest neighbour, physical space); those that cover no voxel centre of
    it are left empty and listed in its ``lost_on_grid``."""
    masks = {name: resample_mask(segmentation.geometry.with_array(mask), geometry) for name, mask in segmentation.masks.items()}
    lost = tuple(name for name, mask in masks.items() if not mask.any() and segmentation.has_voxels(name))
    return Segmentation(geometry.with_array(np.zeros(geometry.shape, np.uint8)), segmentation.labels, masks, lost)


def _read_seg_nrrd(path: Path, label_table, image: Image | None = None) -> Segmentation:
    """A Slicer segmentation: its segments with their own names, colours and terminology (a label table given for
    one is refused), or, for a label map saved under this name, the values named by the table or sidecar. Of a 3D
    ``image`` (its geometry) it is 3D, also when cropped to one slice; else a 1-slice grid is 2D, as any file's."""
    try:
        data = slicerio.read_segmentation(str(path))
    except Exception as error:  # pynrrd and slicerio raise many types for a damaged file
        raise ImageReadError(f"{path}: not a readable Slicer segmentation ({type(error).__name__}: {error})") from None
    texts = _segment_texts(path)
    ijk_to_lps = np.asarray(data["ijkToLPS"], dtype=float)  # places the first stored voxel, also in a cropped file
    voxels = data["voxels"]
    shape_ijk = voxels.shape[-3:]
    spacing = tuple(np.linalg.norm(ijk_to_lps[:3, :3], axis=0))
    origin = tuple(ijk_to_lps[:3, 3])
    direction = ijk_to_lps[:3, :3] / spacing

    def on_grid(array: np.ndarray) -> Image:  # the dimensionality rule of rau.image (1-slice: 2D), unless of a volume
        return Image.from_grid(array, spacing, origin, direction, ndim=3 if image is not None and image.ndim == 3 else None)

    geometry = on_grid(np.zeros(tuple(reversed(shape_ijk)), np.uint8))
    if not data["segments"] and voxels.ndim == 3:  # a label map saved under this name: Slicer imports one segment per value
        label_map = on_grid(voxels.transpose(LPS_TO_IJK_ORDER))
        validation.check_label_values(label_map, path)
        return _named(path, label_map, _table_labels(path, label_table), label_table)
    if label_table is not None and not isinstance(label_table, LabelSet):
        raise InputError(f"{path}: a Slicer segmentation carries its own segment names and colours, so the label table "
                         f"{label_table} would be ignored; leave it out, or rename the segments in Slicer")
    segments = _with_layers([{**segment, **texts.get(index, {})} for index, segment in enumerate(data["segments"])], voxels)
    _check_layers(path, segments, voxels)
    tags = [segment.get(RAU_TAG) for segment in segments]  # a result's structures keep the reference's values
    tagged = [tagged_value(tag) for tag in tags]
    stored = [segment.get("labelValue") if value is None else value for segment, value in zip(segments, tagged)]
    values = segment_values(stored, [bool(tag) for tag in tags])
    structures, masks = [], {}
    try:
        for index, segment in enumerate(segments):
            name = segment.get("name", segment["id"]).strip()  # blank: refused, as the Slicer module does; none: its ID, as in Slicer
            if not name:
                raise InputError(f"segment {index + 1} has no name; name it in Slicer (Segment Editor)")
            if int(segment.get("labelValue", 1)) < 1:  # its mask would be the layer's background
                raise InputError(f"segment {name!r} has the label value {segment['labelValue']}; a segment's voxels are "
                                 "numbered from 1 in its layer (0 is the layer's background)")
            structure = Structure(
                name=name,
                value=values[index],
                color=tuple(float(c) for c in segment.get("color", default_color(values[index]))),
                terminology=segment.get("terminology"),
            )
            structures.append(structure)
            masks[structure.name] = on_grid(slicerio.segment_mask(data, segment).transpose(LPS_TO_IJK_ORDER)).array.astype(bool)
        labels = LabelSet(tuple(structures))
    except InputError as error:  # a colour outside 0..1, a terminology without a type, a name used twice
        raise ImageReadError(f"{path}: {error}") from None
    return Segmentation(geometry, labels, masks)


def _with_layers(segments: list[dict], voxels: np.ndarray) -> list[dict]:
    """Segments with the layer that holds each: a file written before Slicer 4.11 (shared labelmaps) names no
    layers and keeps segment N alone in layer N, with the value 1, as Slicer still reads it."""
    if voxels.ndim == 4 and len(segments) == voxels.shape[0] and not any("layer" in segment for segment in segments):
        return [{"labelValue": 1, **segment, "layer": index} for index, segment in enumerate(segments)]
    return segments


def _check_layers(path: Path, segments: list[dict], voxels: np.ndarray) -> None:
    """Refuse a segment in a layer the file lacks, and two segments of one layer with one label value (their voxels are
    one: a hand-edited or foreign header); warn of voxels in a layer whose value no segment has (Slicer shows no
    segment there either)."""
    count = voxels.shape[0] if voxels.ndim == 4 else 1
    for segment in segments:
        if not 0 <= segment.get("layer", 0) < count:
            raise ImageReadError(f"{path}: segment {segment.get('name') or segment['id']!r} is in layer {segment['layer']}, but the "
                                 f"file has {count} layer(s), numbered from 0; save the segmentation again in Slicer")
    for layer in sorted({segment.get("layer", 0) for segment in segments}):
        held = [segment for segment in segments if segment.get("layer", 0) == layer]
        named: dict[int, str] = {}
        for segment in held:
            name, value = segment.get("name") or segment["id"], segment.get("labelValue", 1)
            if value in named:
                raise ImageReadError(f"{path}: segments {named[value]!r} and {name!r} both have the label value {value} in layer {layer}, "
                                     "so their voxels cannot be told apart; give each its own value (or save the file again in Slicer)")
            named[value] = name
        stored = voxels[layer] if voxels.ndim == 4 else voxels
        unclaimed = stored[(stored != 0) & ~np.isin(stored, list(named))]
        if unclaimed.size:
            values = ", ".join(str(value) for value in np.unique(unclaimed)[:5])
            warn(f"{path}: layer {layer} has {unclaimed.size} voxels of label value(s) {values} that no segment has; they "
                 "belong to no structure (Slicer shows none there either)")


def check_values_written_apart(labels: LabelSet, path) -> None:
    """Refuse to write structures a label file cannot keep apart: a label value below 1 (0 is the background) or not
    whole, or one value given to two structures (a file written so read back without them, or was refused)."""
    named: dict[int, str] = {}
    for structure in labels:
        value = structure.value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InputError(f"{path}: structure {structure.name!r} has label value {value!r}; a label file holds whole "
                             "numbers of at least 1 (0 is the background)")
        if value in named:
            raise InputError(f"{path}: structures {named[value]!r} and {structure.name!r} share the label value {value}; "
                             "give each its own")
        named[value] = structure.name


def write_label_map(segmentation: Segmentation, path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a NIfTI/NRRD label map and its ``.labels.csv`` table; both or neither appear (a name whose table's name,
    the longer, file systems do not take is refused before either is written: :func:`~rau.io.atomic.atomic_path`)."""
    path = Path(path)
    check_values_written_apart(segmentation.labels, path)
    table = label_table_path(path)
    check_writable(table, overwrite)
    with atomic_path(table, overwrite) as table_temporary:
        write_label_table(segmentation.labels, table_temporary)
        write_image(segmentation.to_label_map(), path, overwrite=overwrite)
    return path, table


def output_stem(path) -> str:
    """A file's name without its image extension (:data:`~rau.io.images.IMAGE_SUFFIXES` or ``.seg.nrrd``, any case,
    the longest that fits: ``x.nii.gz`` -> ``x``, ``ct.hdr.gz`` -> ``ct``): the stem of outputs named after it."""
    name = Path(path).name
    suffix = max((suffix for suffix in (".seg.nrrd", *IMAGE_SUFFIXES) if name.lower().endswith(suffix)), key=len, default="")
    return name[: len(name) - len(suffix)]


def label_table_path(label_map_path) -> Path:
    """The sidecar label table written next to a label map (``x.nii.gz`` -> ``x.labels.csv``)."""
    path = Path(label_map_path)
    return path.with_name(output_stem(path) + LABEL_TABLE_SUFFIX)


def write_seg_nrrd(segmentation: Segmentation, path, overwrite: bool = False) -> Path:
    """Write a Slicer ``.seg.nrrd`` with each structure's name, color and terminology (on the
    caller's own grid: a 2D image read from a 1-slice volume is written as that volume)."""
    check_values_written_apart(segmentation.labels, path)
    geometry = segmentation.geometry.as_stored()
    ijk_to_lps = geometry.index_to_world
    largest = max((structure.value for structure in segmentation.labels), default=1)
    data = slicerio.create_segmentation(geometry.size, ijk_to_lps, dtype=np.min_scalar_type(largest))
    data["containedRepresentationNames"] = [BINARY_LABELMAP]  # as Slicer writes them: its Save reads the grid from here
    # written as Slicer serializes it, each parameter ended by "&" (Slicer drops one without it, as slicerio writes the last)
    data["Segmentation_ConversionParameters"] = f"Reference image geometry|{reference_image_geometry(geometry)}|{REFERENCE_GEOMETRY_ABOUT}&"
    texts = {}  # header key -> its text, written in place of the stand-in pynrrd writes
    for index, structure in enumerate(segmentation.labels):  # segment <index> of the header (add_segment appends)
        texts[f"Segment{index}_Name"] = structure.name
        segment = {"id": f"Segment_{structure.value}", "name": TEXT_STAND_IN, "color": list(structure.color),
                   "nameAutoGenerated": False, "colorAutoGenerated": False}  # the reference's choice: Slicer keeps them
        if structure.terminology:
            segment["terminology"] = {"contextName": TEXT_STAND_IN, "category": ["", "", ""], "type": ["", "", ""]}
            texts[f"Segment{index}_Tags"] = terminology_entry_to_string(structure.terminology)
        mask = segmentation.geometry.with_array(segmentation.masks[structure.name]).as_stored().array.transpose(LPS_TO_IJK_ORDER)
        add_segment(data, mask, segment)
    _keep_label_values(data, [structure.value for structure in segmentation.labels])
    with atomic_path(path, overwrite) as temporary:
        with contextlib.redirect_stdout(None):
            slicerio.write_segmentation(str(temporary), data)
        _finish_header(temporary, texts)
    return Path(path)


def reference_image_geometry(geometry: Image) -> str:
    """Slicer's text for the grid ``geometry`` (a stored layout, :meth:`rau.image.Image.as_stored`): its IJK-to-RAS
    matrix row by row, then its extent (first and last index along i, j, k), each value followed by ``;``."""
    matrix = RAS_FROM_LPS @ geometry.index_to_world
    extent = [index for size in geometry.size for index in (0, size - 1)]
    return "".join(f"{value + 0.0:.17g};" for value in [*matrix.ravel(), *extent])  # + 0.0: never "-0"


def _keep_label_values(data: dict, values: list[int]) -> None:
    """Give each segment its structure's label value in its layer (``add_segment`` numbers them 1, 2, ... per layer),
    so the file reads back, in rau and in Slicer, with the values of the label map written beside it."""
    layers = data["voxels"] if data["voxels"].ndim == 4 else data["voxels"][np.newaxis]
    for index, layer in enumerate(layers):
        placed = [(segment, value) for segment, value in zip(data["segments"], values) if segment["layer"] == index]
        if not placed:  # no structures at all: an empty segmentation
            continue
        renumber = np.zeros(max(segment["labelValue"] for segment, _ in placed) + 1, layers.dtype)
        for segment, value in placed:
            renumber[segment["labelValue"]], segment["labelValue"] = value, value
        layer[...] = renumber[layer]


def nrrd_field(text: str) -> str:
    """``text`` as a NRRD header's key/value field holds it (:data:`NRRD_ESCAPES`)."""
    return re.sub(r"[\\\n]", lambda match: NRRD_ESCAPES[match.group()], text)


def nrrd_text(field: str) -> str:
    """The text a NRRD header's key/value field holds (:data:`NRRD_ESCAPES` undone; teem keeps any other backslash)."""
    unescaped = {escaped: character for character, escaped in NRRD_ESCAPES.items()}
    return re.sub(r"\\[\\n]", lambda match: unescaped[match.group()], field)


def _finish_header(path: Path, texts: dict[str, str]) -> None:
    """Drop pynrrd's "# on <date and time>" comment (the same run writes the same bytes) and write the names and
    terminologies ``texts`` (header key -> text) in place of their stand-ins, escaped (:func:`nrrd_field`) and in UTF-8
    (pynrrd writes ASCII only, fields as given; Slicer reads UTF-8), each in its own key's line, so no other value is
    touched."""
    content = path.read_bytes()
    end = content.index(b"\n\n") + 2
    header = re.sub(r"^# on .*\(GMT\)\.?\n", "", content[:end].decode("ascii"), flags=re.M)
    lines = [_with_text(line, texts) for line in header.split("\n")]
    path.write_bytes("\n".join(lines).encode("utf-8") + content[end:])


def _with_text(line: str, texts: dict[str, str]) -> str:
    """A header line ``key:=value`` with its key's text from ``texts``: a ``Name`` as the value, a ``Tags`` line's
    terminology as its ``TerminologyEntry`` tag; other lines as they are."""
    key, separator, value = line.partition(":=")
    if not separator or key not in texts:
        return line
    if key.endswith("_Tags"):
        value = re.sub(r"(?:^|(?<=\|))TerminologyEntry:[^|]*", lambda _: f"TerminologyEntry:{nrrd_field(texts[key])}", value)
        return f"{key}:={value}"
    return f"{key}:={nrrd_field(texts[key])}"


def _segment_texts(path: Path) -> dict[int, dict]:
    """Segment index -> the fields rau reads from it as text, as Slicer reads them: ``id``, ``name``, and from its tags
    its ``terminology`` (slicerio's dict) and :data:`RAU_TAG`; read from the header as UTF-8 and unescaped
    (:func:`nrrd_text`), where pynrrd drops non-ASCII characters and leaves escapes as written. A segment's line in
    another encoding is refused."""
    fields: dict[int, dict] = {}
    with open(path, "rb") as handle:
        for number, raw in enumerate(iter(handle.readline, b""), start=1):
            if raw in (b"\n", b"\r\n"):
                break
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                if raw.startswith(b"Segment"):  # a name Slicer would show garbled: said, not replaced by a stand-in character
                    raise ImageReadError(f"{path}: header line {number} is not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                                         f"position {error.start}, in an encoding such as Latin-1); save the segmentation from "
                                         "Slicer, which writes UTF-8") from None
                continue
            key, separator, value = line.partition(":=")
            index, _, field = key[7:].partition("_")
            if separator and key.startswith("Segment") and index.isdigit():
                fields.setdefault(int(index), {}).update(_text_fields(field, nrrd_text(value)))
    return fields


def _text_fields(field: str, value: str) -> dict:
    """What :func:`_segment_texts` takes from a segment's header ``field`` (``ID``, ``Name``, ``Tags``) of text ``value``."""
    if field in ("ID", "Name"):
        return {field.lower(): value}
    if field != "Tags":
        return {}
    tags = dict(tag.split(":", 1) for tag in value.split("|") if ":" in tag)  # Slicer's "key:value|key:value|"
    texts = {RAU_TAG: tags[RAU_TAG]} if RAU_TAG in tags else {}
    if "TerminologyEntry" in tags:
        texts["terminology"] = terminology_entry_from_string(tags["TerminologyEntry"])
    return texts
