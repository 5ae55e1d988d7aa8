"""The published SAM 3 checkpoint (a ``sam3_video`` folder: detector and tracker) runs as the SAM 3 tracker."""

import json

import SimpleITK as sitk

from rau.cli import main
from rau.demo import SAMPLE_DATA


def _segment(model, out):
    """``rau segment --engine sam2-memory`` on one 2D ultrasound pair; the label array written."""
    data = SAMPLE_DATA / "hc18"
    assert main(["segment", "--reference", str(data / "000_HC.png"), "--reference-labels", str(data / "000_HC_mask.png"),
                 "--target", str(data / "001_HC.png"), "--engine", "sam2-memory", "--sam2-model", str(model), "--device", "cpu",
                 "--out", str(out)]) == 0
    return sitk.GetArrayFromImage(sitk.ReadImage(str(out)))


def test_the_published_sam3_layout_segments_as_its_tracker_alone(tmp_path, capsys):
    """Before, rau refused the folder (model_type 'sam3_video' is not a SAM video model rau can run), though
    transformers loads its tracker; the detector's weights are not used."""
    from tiny_sam3 import save_tiny_sam3_tracker, save_tiny_sam3_video

    tracker = save_tiny_sam3_tracker(tmp_path / "sam3_tracker")
    video = save_tiny_sam3_video(tmp_path / "sam3", tracker)
    assert json.loads((video / "config.json").read_text())["model_type"] == "sam3_video"
    alone, published = _segment(tracker, tmp_path / "alone" / "001.nii.gz"), _segment(video, tmp_path / "published" / "001.nii.gz")
    assert published.any() and published.tobytes() == alone.tobytes()
    capsys.readouterr()
    assert main(["models", "list", str(video)]) == 0
    assert (f"{video}: Sam3TrackerVideoModel (SAM 3 tracker, from a SAM 3 video checkpoint), 56 px frames, mean (0.5, 0.5, 0.5), "
            "std (0.5, 0.5, 0.5)") in capsys.readouterr().out


def test_a_sam3_video_config_without_its_tracker_config_is_refused(tmp_path, capsys):
    """transformers would build a full-size random tracker for it."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "sam3_video"}))
    assert main(["models", "list", str(tmp_path)]) == 2
    assert f"{tmp_path}/config.json: tracker_config must be the Sam3TrackerVideoModel's config, got None" in capsys.readouterr().err
