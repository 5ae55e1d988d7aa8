"""What enters SAM2's memory: the top-k ranked references per structure, and the user's corrections."""


import numpy as np
import pytest

from rau.engines.base import Localization, Prompt, Reference, Request
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.sam2.conditioning import conditioning_slices
from rau.sam2.segmenter import Sam2Segmenter

LABELS = LabelSet((Structure("liver", 1), Structure("spleen", 2)))


def reference(seed: int, shape=(10, 24, 24)) -> Reference:
    labels = np.zeros(shape, np.uint8)
    labels[3:6, 4:12, 4:14] = 1
    labels[2:8, 14:22, 12:20] = 2
    image = Image(np.random.default_rng(seed).normal(size=shape).astype(np.float32), spacing=(1, 1, 3))
    return Reference(image, Segmentation.from_label_map(image.with_array(labels), LABELS), name=f"ref{seed}")


def target(seed: int = 9, shape=(10, 24, 24)) -> Image:
    return Image(np.random.default_rng(seed).normal(size=shape).astype(np.float32), spacing=(1, 1, 3))


@pytest.mark.parametrize("top_k, expected", [(1, 1), (2, 2), (5, 3)])
def test_the_top_k_references_enter_memory_as_conditioning_frames(tiny_sam2, top_k, expected):
    references = [reference(seed) for seed in (1, 2, 3)]
    result = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu", top_k=top_k).segment(Request(references, target()), None)
    tracker = result.session.tracker
    for name in ("liver", "spleen"):
        assert len(tracker.conditioning_frames(name)) == expected
        assert [c.split(":")[0] for c in result.details["conditioning"][name]] == ["ref1", "ref2", "ref3"][:expected]
    assert result.details["frames_encoded"] == 2 * expected + 10  # distinct reference slices once each, then the target


def test_ranking_the_references_keeps_the_structures_of_the_first_given(tiny_sam2):
    """Before: the structures came from the best-ranked reference, so one that lacked the spleen dropped it (no row),
    and --structures spleen was refused."""
    from rau.engines.registration import RegistrationEngine
    from rau.engines.sam2 import Sam2MemoryEngine

    full, image = reference(1), target()
    liver_only = Segmentation.from_label_map(image.with_array(full.segmentation.masks["liver"].astype(np.uint8)), LabelSet((Structure("liver", 1),)))
    request = Request([full, Reference(image.with_array(image.array + 0.01), liver_only, name="like the target")], image)
    engine = Sam2MemoryEngine(Sam2Segmenter(str(tiny_sam2["always"]), device="cpu"), RegistrationEngine())
    for structures in (None, ["liver", "spleen"]):
        result = engine.run(Request(request.references, image, structures))
        assert result.details["conditioning"]["liver"][0].startswith("like the target")  # it ranks first
        assert [s.structure.name for s in result.structures] == ["liver", "spleen"] and result.get("spleen").found


def test_a_localizations_ranking_orders_the_references(tiny_sam2):
    references = [reference(seed) for seed in (1, 2, 3)]
    ranked = {"liver": Localization(LABELS.get("liver"), True, references=["ref3", "ref1"])}
    result = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu", top_k=2).segment(Request(references, target()), ranked)
    assert result.details["conditioning"]["liver"] == ["ref3:3", "ref1:3"]  # equal cross-sections on 3..5: the first


def test_long_structures_condition_on_more_slices_largest_first():
    mask = np.zeros((80, 4, 4), bool)
    mask[10:60, 1:3, 1:3] = True
    mask[30, :, :] = True  # the largest cross-section
    assert conditioning_slices(mask, 0)[0] == 30 and len(conditioning_slices(mask, 0)) == 3
    assert conditioning_slices(mask[25:35], 0) == [5]
    assert conditioning_slices(np.zeros((5, 4, 4), bool), 0) == []


def test_a_correction_enters_memory_changes_its_neighbours_and_undo_restores_them(tiny_sam2):
    result = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu").segment(Request([reference(1)], target()), None)
    session = result.session
    before = {name: session.results[name] for name in ("liver", "spleen")}
    masks_before = {n: None if r.mask is None else r.mask.copy() for n, r in before.items()}
    frames_before = session.tracker.conditioning_frames("liver")

    session.reprompt("liver", Prompt(points=[(8, 8, 5), (20, 20, 5)], labels=[1, 0]))
    corrected = session.propagate("liver")
    corrected_frame = session.first_target_frame + 5
    assert session.tracker.conditioning_frames("liver") == frames_before + [corrected_frame]
    old = masks_before["liver"] if masks_before["liver"] is not None else np.zeros(target().shape, bool)
    assert any(not np.array_equal(corrected.mask[k], old[k]) for k in (3, 4, 6, 7)), "the correction changed no neighbouring slice"
    assert session.results["spleen"] is before["spleen"]  # untouched, bit for bit

    without = Sam2Segmenter(str(tiny_sam2["always"]), device="cpu").segment(Request([reference(1)], target()), None).session
    without.reprompt("liver", Prompt(points=[(8, 8, 5), (20, 20, 5)], labels=[1, 0]))
    without.plans["liver"].corrections.clear()  # the same propagation from slice 5, without the correction in memory
    assert any(not np.array_equal(corrected.mask[k], without.propagate("liver").mask[k]) for k in (3, 4, 6, 7))

    session.undo("liver")  # undoes propagate: the correction leaves memory again
    assert session.tracker.conditioning_frames("liver") == frames_before
    session.undo("liver")  # undoes reprompt
    assert session.results["liver"] is before["liver"]
    restored = session.results["liver"].mask
    assert (restored is None and masks_before["liver"] is None) or np.array_equal(restored, masks_before["liver"])
    assert not session.can_undo("liver") and session.plans["liver"].corrections == {}
    spleen = session.results["spleen"].mask
    assert (spleen is None and masks_before["spleen"] is None) or np.array_equal(spleen, masks_before["spleen"])


def test_engines_rank_references_with_the_registration_engines_ranking(tiny_sam2, monkeypatch):
    from rau.engines import create_engine
    from rau.engines import registration

    references = [reference(seed) for seed in (1, 2, 3)]
    shown = []
    monkeypatch.setattr(registration, "rank", lambda transfers, asked: shown.append(len(transfers)) or [(t, 0.0) for t in transfers[::-1]])
    engine = create_engine("sam2-memory", {"sam2_model": str(tiny_sam2["always"]), "device": "cpu", "top_k": 2, "deformable": False})
    result = engine.run(Request(references, references[0].image))
    assert shown == [3]  # the one ranking function saw every reference
    assert [c.split(":")[0] for c in result.details["conditioning"]["liver"]] == ["ref3", "ref2"]


@pytest.mark.parametrize("engine_name", ["registration+sam2", "sam2-memory"])
def test_a_run_s_progress_never_goes_back_from_the_registration_to_sam2(tiny_sam2, engine_name):
    """Before, each part reported 0 to 1 of its own: registering 0.475, fusing labels 0.5, then loading SAM2 0.0."""
    from rau.engines import create_engine
    from rau.engines.base import Progress

    seen = []
    engine = create_engine(engine_name, {"sam2_model": str(tiny_sam2["always"]), "device": "cpu", "deformable": False})
    engine.run(Request([reference(1), reference(2)], target()), Progress(lambda step, fraction: seen.append((step, fraction))))
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1, seen
    assert any(step.startswith("registering") or step.startswith("ranking") for step, _ in seen) and ("loading SAM2", 0.5) in seen
