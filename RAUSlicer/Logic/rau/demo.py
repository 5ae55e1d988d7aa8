"""The bundled demo: two real cases run end to end, scored, written and pictured.

* ``hc18_ultrasound``: fifteen HC18 fetal-head ultrasound references -> one target (2D), the best five fused.
* ``abdominal_ct``: TotalSegmentator CT subject A -> subject B (3D, 27 shared structures).
* ``coronary_angiogram``: ARCADE X-ray angiogram 928 -> 204 (2D, four named LCA segments), with the
  ``vessels`` engine unless another is asked for (:data:`CASE_ENGINES`).

The data live in ``rau/sample_data`` (licences in its README), so the demo needs no download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from rau.engines import Engine, Progress
from rau.evaluation.manifest import read_manifest
from rau.evaluation.runner import CaseScore, load_case, score_run
from rau.image import Image, orient_lps, orient_lps_mask
from rau.io import write_label_map
from rau.io.atomic import atomic_path
from rau.labels import Segmentation
from rau.render import render_overlay, render_plain, tag_color

SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data"
DEMO_CASES = {"hc18_ultrasound": "hc18_demo.csv", "abdominal_ct": "totalseg_ct_demo.csv", "coronary_angiogram": "arcade_demo.csv"}
CASE_ENGINES = {"coronary_angiogram": "vessels"}
"""Each case's engine when ``--engine`` names none; the others run the default engine."""
PANEL_HEIGHT = 360
PANEL_TITLES = ("reference", "target", "prediction", "truth")
LEGEND_HEIGHT = 24


def run_case(name: str, engine: Engine, out_dir: Path, overwrite: bool, progress: Progress | None = None) -> CaseScore:
    """Run one demo case; write ``<out_dir>/<name>/prediction.nii.gz`` (+ label table) and ``overlay.png``
    (inside :func:`rau.io.atomic.output_set`: placed with the set's other files when it ends)."""
    case = read_manifest(SAMPLE_DATA / DEMO_CASES[name])[0]
    references, target, truth = load_case(case)
    score = score_run(engine, case, references, target, truth, progress)
    folder = out_dir / name
    prediction = score.result.to_segmentation()
    figure = overlay_figure(references[0].image, references[0].segmentation, target, prediction, truth)
    with atomic_path(folder / "overlay.png", overwrite) as temporary:  # the overlay is renamed into place only after the label map: all or none
        figure.save(temporary, format="PNG")
        write_label_map(prediction, folder / "prediction.nii.gz", overwrite=overwrite)
    return score


def overlay_figure(reference: Image, reference_labels: Segmentation, target: Image, prediction: Segmentation, truth: Segmentation) -> PILImage.Image:
    """Four panels, each titled: reference with its labels, target, target with prediction, target with truth,
    and a legend naming each tag number.

    Volumes show the axial slice with the most labelled voxels; outlines share colors by structure.
    """
    names = prediction.labels.names
    truth_names = {n.lower(): n for n in truth.masks}
    panels = [
        _panel(reference, [reference_labels.masks[n] for n in names if n in reference_labels.masks]),
        _panel(target, None),
        _panel(target, [prediction.masks[n] for n in names]),
        _panel(target, [truth.masks.get(truth_names.get(n.lower(), ""), np.zeros(target.shape, bool)) for n in names]),
    ]
    canvas = PILImage.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), PANEL_HEIGHT + LEGEND_HEIGHT))
    x = 0
    for panel, title in zip(panels, PANEL_TITLES):
        canvas.paste(panel, (x, 0))
        _title(canvas, title, x)
        x += panel.width + 8
    _legend(canvas, names)
    return canvas


def _title(canvas: PILImage.Image, title: str, x: int) -> None:
    """``title`` in white, outlined in black to stay legible on any image, at the top left of the panel at ``x``."""
    from PIL import ImageDraw

    ImageDraw.Draw(canvas).text((x + 4, 2), title, fill=(255, 255, 255), font=_font(), stroke_width=2, stroke_fill=(0, 0, 0))


def _font():
    """The figure's font: Pillow's own, 14 px."""
    from PIL import ImageFont

    return ImageFont.load_default(size=14)


def _legend(canvas: PILImage.Image, names: list[str]) -> None:
    """Tag number and structure name, in the tag's colour, along the bottom of ``canvas``."""
    from PIL import ImageDraw

    draw, font = ImageDraw.Draw(canvas), _font()
    x = 4
    for tag, name in enumerate(names, start=1):
        text = f"{tag}: {name}"
        if x + draw.textlength(text, font=font) > canvas.width:
            break
        draw.text((x, PANEL_HEIGHT + 4), text, fill=tag_color(tag), font=font)
        x += int(draw.textlength(text, font=font)) + 16


def _panel(image: Image, masks: list[np.ndarray] | None) -> PILImage.Image:
    """One slice of ``image`` (LPS-oriented), with the masks outlined when given."""
    oriented = orient_lps(image)
    stacks = [orient_lps_mask(image, m) for m in masks] if masks else []
    k = int(np.argmax(sum(m.sum(axis=(1, 2)) for m in stacks))) if stacks else oriented.shape[0] // 2
    rows, cols = oriented.shape[1:]
    aspect = (cols * oriented.spacing[0]) / (rows * oriented.spacing[1])
    size = (max(int(PANEL_HEIGHT * aspect), 1), PANEL_HEIGHT)
    if masks is None:
        return render_plain(oriented.array[k], size)
    return render_overlay(oriented.array[k], [m[k] for m in stacks], size)
