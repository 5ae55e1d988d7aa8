"""SAM2 prompts for thin structures: points along the transferred centreline, placed on the frame (tiny random SAM2)."""

from __future__ import annotations


import numpy as np

from rau.boxes import Box
from rau.engines.base import Localization, Progress, Reference, Request
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.sam2.frames import SliceGeometry
from rau.sam2.segmenter import Sam2Segmenter
from rau.vessels.prompts import centreline_points



def _line(start, end, count=20):
    return np.round(np.linspace(start, end, count)).astype(int)


def test_points_are_positive_on_the_segment_and_negative_on_its_neighbours_only():
    centrelines = {
        "proximal": _line((10, 10), (40, 40)),
        "distal": _line((41, 41), (80, 60)),  # meets proximal at its end
        "far": _line((10, 90), (30, 95)),
    }
    points, labels = centreline_points(centrelines, "proximal")
    positives = [p for p, label in zip(points, labels) if label == 1]
    negatives = [p for p, label in zip(points, labels) if label == 0]
    on = lambda p, name: any(tuple(q) == p for q in centrelines[name])  # noqa: E731
    assert len(positives) == 5 and all(on(p, "proximal") for p in positives)
    assert negatives and all(on(p, "distal") for p in negatives)
    assert tuple(centrelines["proximal"][0]) not in positives  # the ends sit at bifurcations


class PromptSpy:
    """The real tiny SAM2 model; records every prompt the prompt encoder receives."""

    def __init__(self, model):
        self.model, self.prompts = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def prompt_encoder(self, input_points, input_labels, **kwargs):
        self.prompts.append((input_points.detach().clone(), input_labels.detach().clone()))
        return self.model.prompt_encoder(input_points=input_points, input_labels=input_labels, **kwargs)


def test_sam2_gets_the_box_and_the_centreline_points_at_their_pixels(tiny_sam2):
    shape = (1, 40, 50)
    labels = np.zeros(shape, np.uint8)
    labels[0, 10:14, 5:45] = 1
    image = Image(np.random.default_rng(0).normal(size=shape).astype(np.float32), spacing=(0.6, 0.8, 1.0), ndim=2)
    structure = Structure("S6_LAD_proximal", 1)
    reference = Reference(image, Segmentation.from_label_map(image.with_array(labels), LabelSet((structure,))))
    box = Box((5, 10, 0), (45, 14, 1))
    points, point_labels = [(12, 10), (12, 25), (30, 30)], [1, 1, 0]
    localization = Localization(structure, True, box, 0.9, {0: box}, "vessels", slice_points={0: (points, point_labels)})
    segmenter = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu")
    spy = segmenter._model = PromptSpy(segmenter.model)
    segmenter.segment(Request([reference], image), {structure.name: localization})
    geometry = SliceGeometry.of(image, 0, int(spy.config.image_size))
    expected = [list(geometry.box_to_frame(10, 5, 14, 45)[:2]), list(geometry.box_to_frame(10, 5, 14, 45)[2:])]
    expected += [geometry.point_to_frame(row, col) for row, col in points]
    prompted = [(c, l) for c, l in spy.prompts if c.shape[2] == 5]
    assert prompted, "SAM2 never saw the box with the centreline points"
    coords, codes = prompted[0]
    assert codes[0, 0].tolist() == [2, 3, 1, 1, 0]
    assert np.allclose(coords[0, 0].numpy(), np.array(expected, dtype=np.float32), atol=1e-4)


def test_vessels_sam2_engine_prompts_every_found_segment_with_centreline_points(tiny_sam2, shared_data):
    from rau.engines import create_engine
    from rau.io import read_image
    from rau.references import load_reference

    folder = shared_data / "arcade_syntax_dev"
    reference = load_reference(folder / "arcade_train_928_img.png", folder / "arcade_train_928_lab.png", 1.0, folder / "labels.csv")
    target = read_image(folder / "arcade_train_204_img.png", 1.0)
    engine = create_engine("vessels+sam2", {"sam2_model": str(tiny_sam2["always"]), "device": "cpu", "top_k": 1, "deformable": False})
    localizations = engine.localizer.localize(Request([reference], target), Progress())
    found = [loc for loc in localizations.values() if loc.present]
    assert found
    for localization in found:
        points, labels = localization.slice_points[0]
        assert labels.count(1) == 5 and labels.count(0) >= 1  # LAD segments always have a neighbour
        mask = np.zeros(target.shape[1:], bool)
        mask[localization.box.slices()[1:]] = True
        assert all(mask[row, col] for (row, col), label in zip(points, labels) if label == 1)  # positives inside the box
    assert engine.name == "vessels+sam2" and list(localizations) == ["S5_left_main", "S6_LAD_proximal", "S7_LAD_mid", "S8_LAD_apical"]


def test_vessels_sam2_records_the_vessel_engines_ranking_of_several_references(tiny_sam2, shared_data):
    """Before, ``vessels+sam2`` dropped the ranking of the references its vessel engine made (by tree match)."""
    from rau.engines import create_engine
    from rau.io import read_image
    from rau.references import load_reference

    folder = shared_data / "arcade_syntax_dev"
    references = [load_reference(folder / f"arcade_train_{n}_img.png", folder / f"arcade_train_{n}_lab.png", 1.0, folder / "labels.csv") for n in (928, 204)]
    target = read_image(folder / "arcade_train_115_img.png", 1.0)
    request = Request(references, target, structures=["S6_LAD_proximal"])
    options = {"sam2_model": str(tiny_sam2["always"]), "device": "cpu", "top_k": 1}
    expected = create_engine("vessels", options).run(request).details["ranking"]
    ranking = create_engine("vessels+sam2", options).run(request).details["ranking"]
    assert len(expected) == 2 and ranking == expected
