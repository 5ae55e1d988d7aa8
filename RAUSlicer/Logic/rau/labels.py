"""Structures, label sets and segmentations (per-structure masks on an image grid)."""

from __future__ import annotations

import colorsys
import copy
import hashlib
import shlex
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from rau.boxes import Box
from rau.errors import InputError
from rau.image import GeometryError, Image, array_digest
from rau.validation.images import MAX_LABEL_VALUE


class UnknownStructureError(InputError, KeyError):
    """A structure name was asked for that the label set does not hold."""

    def __str__(self):
        return str(self.args[0])


@dataclass(frozen=True)
class Structure:
    """One anatomical structure: name, label value, RGB color in 0..1, optional terminology."""

    name: str
    value: int
    color: tuple[float, float, float] = (1.0, 0.0, 0.0)
    terminology: dict | None = field(default=None, compare=False, hash=False)

    def __post_init__(self):
        if any(unicodedata.category(character) == "Cc" for character in self.name):
            raise InputError(f"structure {self.name!r}: a name must not hold control characters (line breaks, tabs); "
                             "they would break the files it is written to")
        if len(self.color) != 3 or not all(0.0 <= float(c) <= 1.0 for c in self.color):
            raise InputError(f"structure {self.name!r}: color {tuple(self.color)} must be three values in 0..1 (divide 0-255 values by 255)")
        if self.terminology is not None:
            check_terminology(self.terminology, f"structure {self.name!r}")
            given = {key: value for key, value in self.terminology.items() if value != ""}  # Slicer's text leaves names blank
            object.__setattr__(self, "terminology", None if is_slicer_default_terminology(given) else given)


TERMINOLOGY_CODES = ("category", "type", "typeModifier", "anatomicRegion", "anatomicRegionModifier")
"""The coded entries of a terminology (slicerio's dict); ``category`` and ``type`` are required."""


TERMINOLOGY_SEPARATORS = set("~^|")
"""Characters Slicer's terminology text and segment tags use as separators."""


SLICER_DEFAULT_CODE = ["SCT", "85756007", "Tissue"]
"""Category and type of the terminology Slicer gives a segment nobody chose one for ("Tissue / Tissue")."""


def is_slicer_default_terminology(terminology: dict | None) -> bool:
    """True for the terminology Slicer gives every new segment (Tissue / Tissue, no modifier, no region): a
    segmentation made in Slicer from a label map carries it, a ``.seg.nrrd`` written by hand does not; both mean none."""
    coded = {key: list(terminology[key]) for key in TERMINOLOGY_CODES if terminology and terminology.get(key)}
    return coded == {"category": SLICER_DEFAULT_CODE, "type": SLICER_DEFAULT_CODE}


def check_terminology(terminology, owner: str) -> None:
    """Refuse a terminology Slicer cannot store: it needs ``category`` and ``type``, each coded entry is
    [coding scheme, code value, code meaning], and no text holds Slicer's separators ``~ ^ |``."""
    if not isinstance(terminology, dict) or not {"category", "type"} <= terminology.keys():
        raise InputError(f"{owner}: a terminology needs a category and a type, got {terminology!r:.120}")
    for key, value in terminology.items():
        parts = value if key in TERMINOLOGY_CODES else [value]
        if not (isinstance(parts, (list, tuple)) and len(parts) == (3 if key in TERMINOLOGY_CODES else 1)
                and all(isinstance(part, str) and not set(part) & TERMINOLOGY_SEPARATORS for part in parts)):
            form = "[coding scheme, code value, code meaning]" if key in TERMINOLOGY_CODES else "text"
            raise InputError(f"{owner}: terminology {key} must be {form} without ~, ^ or |, got {value!r:.120}")


def default_color(value: int) -> tuple[float, float, float]:
    """A distinct, deterministic color for a label value (golden-angle hues)."""
    hue = (value * 0.618033988749895) % 1.0
    return tuple(round(c, 4) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.95))


RAU_TAG = "RAUSlicer"
"""The segment tag (JSON) in which a result's structure records where it came from and its label value, in a Slicer
segmentation node and in the ``.seg.nrrd`` Slicer saves it as."""


def tagged_value(tag: str | None) -> int | None:
    """The label value a segment's :data:`RAU_TAG` text records (a result keeps the reference's), None when there is
    no tag, or no usable value in it (a damaged tag is reported where the tag is read)."""
    from rau.io.json_text import parse_json  # rau.io reads label sets: imported here, not at the top

    try:
        value = parse_json(tag or "{}").get("value")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def segment_values(stored: list, first: list[bool] | None = None) -> list[int]:
    """The label values of segments (a ``.seg.nrrd``'s, a Slicer segmentation node's) from the ``stored`` ones, in
    segment order. Segments flagged in ``first`` (a result's structures, whose values are the reference's) keep
    theirs when distinct positive integers. The others keep theirs too when those are distinct positive integers
    no flagged segment holds (as Slicer keeps an imported label map's); else they are numbered 1, 2, ... in segment
    order, skipping the values kept (segments in separate layers often all have the value 1)."""
    first = first or [False] * len(stored)
    kept: dict[int, int] = {}
    for index in (i for i in range(len(stored)) if first[i]):
        if _is_label_value(stored[index]) and stored[index] not in kept.values():
            kept[index] = stored[index]
    rest = [index for index in range(len(stored)) if index not in kept]
    values = [stored[index] for index in rest]
    if not (all(map(_is_label_value, values)) and len(set(values)) == len(values) and not set(values) & set(kept.values())):
        free = (value for value in range(1, len(stored) + max(kept.values(), default=0) + 1) if value not in kept.values())
        values = [next(free) for _ in rest]
    value_of = dict(zip(rest, values)) | kept
    return [value_of[index] for index in range(len(stored))]


def _is_label_value(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_LABEL_VALUE


def check_asked_once(asked: list[str], meant: list[str]) -> None:
    """Refuse two of the structure names ``asked`` for that mean one structure (``meant``: the name each one found)."""
    for index, name in enumerate(meant):
        first = meant.index(name)
        if first < index:
            raise InputError(f"the structures asked for name {name!r} twice ({asked[first]!r} and {asked[index]!r}); ask for it once")


def normalize_name(name: str) -> str:
    """Name key used for matching: Unicode form (composed or decomposed accents), case, spaces and punctuation
    ignored (a name of punctuation only is its own key)."""
    name = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in name if ch.isalnum()) or name.strip()


def name_keys(structures: list[str] | None) -> list[str] | None:
    """Structure names as they are matched, in their order (``Head`` is ``head``, :func:`normalize_name`)."""
    return [normalize_name(name) for name in structures] if structures else structures


def in_words(items: list[str], none: str = "") -> str:
    """``items`` as a message lists them, as they are ("a, b and c"); ``none`` when there are none."""
    return f"{', '.join(items[:-1])} and {items[-1]}" if len(items) > 1 else (items[0] if items else none)


def names_in_words(names: list[str], none: str = "") -> str:
    """``names`` as a message says them, each quoted as Python writes it ("'a', 'b, c' and 'd'": a name may hold commas,
    spaces or "and"), as other messages name structures (:func:`in_words`); ``none`` when there are none."""
    return in_words([repr(name) for name in names], none)


def check_distinct_names(names: list[str], where: list[str] | None = None) -> None:
    """Refuse two structure names that are one to RAUSlicer (:func:`normalize_name`); ``where``: where each name was
    read (``table.csv line 3``), said of the second."""
    seen = {}
    for index, name in enumerate(names):
        key = normalize_name(name)
        if key in seen:
            raise InputError((f"{where[index]}: " if where else "") + (
                f"the structure name {name!r} appears twice" if seen[key] == name else
                f"structure names {seen[key]!r} and {name!r} are one name to RAUSlicer, which ignores case, "
                "spaces and punctuation when it matches names; rename one"))
        seen[key] = name


@dataclass(frozen=True)
class LabelSet:
    """An ordered set of structures; ``named`` is False when names were made up from values; ``colored``: the values
    whose colour a label table gave (the others have their value's default colour), None when every colour was given."""

    structures: tuple[Structure, ...]
    named: bool = True
    colored: frozenset[int] | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "structures", tuple(self.structures))
        check_distinct_names([structure.name for structure in self.structures])

    @classmethod
    def from_values(cls, values, names: dict[int, str] | None = None) -> "LabelSet":
        """Structures for label values; names from ``names`` when given, else ``label_<value>``."""
        structures = [
            Structure(names.get(int(v), f"label_{int(v)}") if names else f"label_{int(v)}", int(v), default_color(int(v)))
            for v in sorted(int(v) for v in values if int(v) != 0)
        ]
        return cls(tuple(structures), named=bool(names))

    @property
    def names(self) -> list[str]:
        """The structures' names, in order."""
        return [s.name for s in self.structures]

    def __len__(self):
        return len(self.structures)

    def __iter__(self):
        return iter(self.structures)

    def get(self, name: str) -> Structure:
        """The structure called ``name`` (matching ignores case and punctuation)."""
        structure = self.find(name)
        if structure is None:
            raise UnknownStructureError(f"unknown structure {name!r}; available: {names_in_words(self.names, 'none')}{self._listed_hint(name)}")
        return structure

    def _listed_hint(self, name: str) -> str:
        """For an unknown ``name`` that splits on ``;`` into names this set holds (a manifest's list, given as one
        name): how ``rau segment --structures`` takes them; else nothing."""
        parts = [part.strip() for part in name.split(";") if part.strip()]
        if ";" not in name or not parts or any(self.find(part) is None for part in parts):
            return ""
        return (f"; {name!r} looks like a manifest's list of names separated by ';': rau segment --structures takes "
                f"them separated by spaces ({shlex.join(['--structures', *parts])})")

    def find(self, name: str) -> Structure | None:
        """The structure called ``name`` (matching as :meth:`get` does), or None."""
        key = normalize_name(name)
        return next((structure for structure in self.structures if normalize_name(structure.name) == key), None)

    def by_value(self, value: int) -> Structure | None:
        """The structure with label ``value``, or None."""
        return next((s for s in self.structures if s.value == value), None)

    def select(self, names: list[str] | None) -> "LabelSet":
        """The subset named in ``names`` (all when None); unknown names, and two names of one structure, raise."""
        if not names:
            return self
        chosen = [self.get(n) for n in names]
        check_asked_once(names, [structure.name for structure in chosen])
        return LabelSet(tuple(chosen), named=self.named)

    def match(self, other: "LabelSet") -> list[tuple[Structure, Structure]]:
        """Pairs ``(mine, theirs)``: by name when both sides carry names, else by label value."""
        pairs = []
        for structure in self.structures:
            if self.named and other.named:
                try:
                    pairs.append((structure, other.get(structure.name)))
                except UnknownStructureError:
                    continue
            else:
                theirs = other.by_value(structure.value)
                if theirs is not None:
                    pairs.append((structure, theirs))
        return pairs


@dataclass
class Segmentation:
    """Per-structure boolean masks on one image grid (``geometry``); masks may overlap."""

    geometry: Image
    labels: LabelSet
    masks: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Name -> mask: a dict, or a label map's :class:`LabelMapMasks`, whose masks are made when asked for."""
    lost_on_grid: tuple[str, ...] = ()
    """The structures that had voxels on the grid they were drawn on but have none on this one: they covered no voxel
    centre of the grid they were resampled onto (:func:`rau.io.segmentations.resample_segmentation`)."""

    def __post_init__(self):
        if isinstance(self.masks, LabelMapMasks):  # a label map's, made when asked for
            if self.masks.shape != self.geometry.shape:
                raise GeometryError(f"label map has shape {self.masks.shape}, image has {self.geometry.shape}")
            return
        self.masks = dict(self.masks)  # the caller's dict stays as it was given
        for name, mask in self.masks.items():
            mask = np.asarray(mask)
            if mask.shape != self.geometry.shape:
                raise GeometryError(f"mask {name!r} has shape {mask.shape}, image has {self.geometry.shape}")
            self.masks[name] = mask.astype(bool, copy=False)

    @classmethod
    def from_label_map(cls, label_map: Image, labels: LabelSet | None = None) -> "Segmentation":
        """Split an integer label map into masks; structures absent from ``labels`` get made-up names."""
        array = np.asarray(label_map.array)
        if not np.issubdtype(array.dtype, np.integer):
            rounded = np.rint(array)
            if not np.array_equal(rounded, array):
                raise InputError("label map has non-integer values; is this an intensity image?")
            array = rounded.astype(np.int32)
        values = [int(v) for v in np.unique(array) if v != 0]
        if labels is None:
            labels = LabelSet.from_values(values)
        else:
            made_up = LabelSet.from_values([v for v in values if labels.by_value(v) is None])
            for structure in made_up:
                if (taken := labels.find(structure.name)) is not None:
                    raise InputError(f"its label table names value {taken.value} {taken.name!r}, the name made up for its unnamed "
                                     f"value {structure.value}; name value {structure.value} in the table, or give value {taken.value} another name")
            if made_up.structures:
                labels = LabelSet(labels.structures + made_up.structures, named=labels.named)
        masks = LabelMapMasks(array, {s.name: s.value for s in labels}, set(values))
        geometry = label_map.with_array(np.zeros(label_map.shape, dtype=np.uint8))
        return cls(geometry, labels, masks)

    def named_like(self, labels: LabelSet) -> "Segmentation":
        """This segmentation with its structures spelled as in ``labels`` where they are the same structure by
        name (case, spaces and punctuation aside: ``LIVER`` is ``liver``); values, colours and masks its own."""
        spelled = {normalize_name(s.name): s.name for s in labels}
        structures = tuple(replace(s, name=spelled.get(normalize_name(s.name), s.name)) for s in self.labels)
        if all(new.name == old.name for new, old in zip(structures, self.labels)):
            return self
        renamed = {old.name: new.name for new, old in zip(structures, self.labels)}
        masks = self.masks.renamed(renamed) if isinstance(self.masks, LabelMapMasks) else {
            renamed[name]: mask for name, mask in self.masks.items()}
        return Segmentation(self.geometry, LabelSet(structures, named=self.labels.named), masks)

    def voxel_digest(self) -> str:
        """SHA-256 of the structures' voxels, whatever the structures are named: a label map's values, else each
        mask's (in the order of their own digests)."""
        if isinstance(self.masks, LabelMapMasks):
            return self.masks.digest()
        return hashlib.sha256("".join(sorted(array_digest(mask) for mask in self.masks.values())).encode()).hexdigest()

    def structure_digests(self) -> dict[str, str]:
        """Each structure with voxels as names are matched (:func:`normalize_name`) with the SHA-256 of its voxels:
        the same for the same structure, whatever value, type or file (label map, .seg.nrrd) stores it."""
        return {normalize_name(s.name): array_digest(self.masks[s.name]) for s in self.present()}

    def mask(self, name: str) -> np.ndarray:
        """The mask of one structure (raises for an unknown name)."""
        return self.masks[self.labels.get(name).name]

    def union(self) -> np.ndarray:
        """Every voxel any structure labels (bool, the geometry's shape)."""
        if isinstance(self.masks, LabelMapMasks):
            return self.masks.union()
        union = np.zeros(self.geometry.shape, bool)
        for mask in self.masks.values():
            union |= mask
        return union

    def present(self) -> LabelSet:
        """The structures whose mask has at least one voxel."""
        return LabelSet(tuple(s for s in self.labels if self.has_voxels(s.name)), named=self.labels.named)

    def has_voxels(self, name: str) -> bool:
        """Whether the structure spelled ``name`` here has a mask with at least one voxel."""
        if isinstance(self.masks, LabelMapMasks):
            return self.masks.has_voxels(name)
        return name in self.masks and bool(self.masks[name].any())

    def overlaps(self, names: list[str]) -> bool:
        """Whether a voxel lies in two of the structures ``names`` (those it holds); never in a label map's."""
        if isinstance(self.masks, LabelMapMasks):
            return False
        counts = None
        for name in names:
            mask = self.masks.get(name)
            if mask is not None:
                counts = mask.astype(np.uint8) if counts is None else counts + mask
        return counts is not None and counts.max() > 1

    def to_label_map(self) -> Image:
        """One integer label map; where masks overlap, the later structure in ``labels`` wins."""
        top = max((s.value for s in self.labels), default=0)
        array = np.zeros(self.geometry.shape, dtype=np.min_scalar_type(top))  # uint8, uint16 or uint32
        for structure in self.labels:
            if boxed := Box.around(self.masks[structure.name]):
                box, inside = boxed
                array[box.slices()][inside] = structure.value
        return self.geometry.with_array(array)

    def hidden_in_label_map(self) -> dict[str, int]:
        """Per structure, the voxels that :meth:`to_label_map` gives to a later, overlapping structure (only those with any)."""
        hidden, covered = {}, np.zeros(self.geometry.shape, bool)
        for structure in reversed(self.labels.structures):
            if (boxed := Box.around(self.masks[structure.name])) is None:
                continue
            box, inside = boxed
            seen = covered[box.slices()]  # a view: what the structure covers is marked in place
            if count := np.count_nonzero(inside & seen):
                hidden[structure.name] = count
            seen |= inside
        return hidden


class LabelMapMasks(Mapping):
    """The masks of a label map's structures (name -> bool array), each made anew when asked for: a CT labelled
    with a hundred structures (TotalSegmentator's) would take a hundred full-size masks, gigabytes, if all were made
    at once. A mask is the caller's own copy: writing into it does not change the segmentation."""

    def __init__(self, array: np.ndarray, values: dict[str, int], present: set[int]):
        """``array``: the label map's values (copied: the caller may change its own); ``values``: each structure's
        label value, every non-zero value of ``array`` among them; ``present``: the non-zero values ``array`` holds."""
        self._array, self._values, self._present = _compact(array, present), values, present
        self._array.flags.writeable = False

    def __getitem__(self, name: str) -> np.ndarray:
        value = self._values[name]  # one a table lists without voxels: zeros, which take no memory until written
        return self._array == value if value in self._present else np.zeros(self._array.shape, bool)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of every mask."""
        return self._array.shape

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def has_voxels(self, name: str) -> bool:
        """Whether ``name`` is a structure with voxels in the label map."""
        return self._values.get(name) in self._present

    def renamed(self, names: dict[str, str]) -> "LabelMapMasks":
        """The same masks under new names (``names``: old name -> new name), sharing the read-only label map."""
        renamed = copy.copy(self)
        renamed._values = {names[name]: value for name, value in self._values.items()}
        return renamed

    def union(self) -> np.ndarray:
        """Every labelled voxel (every value the label map holds is a structure's)."""
        return self._array != 0

    def digest(self) -> str:
        """SHA-256 of the label map's values (:func:`rau.image.array_digest`), whatever the structures are named."""
        return array_digest(self._array)


def _compact(array: np.ndarray, values: set[int]) -> np.ndarray:
    """A copy of ``array`` in the smallest integer type that holds 0 and ``values`` (uint8 for up to 255 labels)."""
    return np.array(array, dtype=np.result_type(*(np.min_scalar_type(v) for v in (min(values | {0}), max(values | {0})))))
