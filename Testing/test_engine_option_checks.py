"""An engine or segmenter built in Python (the Slicer console, a script) refuses a bad option when it is built, in the
command line's words (rau.options.checked_option), not after every reference was registered (or, SAM2 with top_k 0,
answering every structure absent)."""

import subprocess
import sys

import pytest

from rau.errors import OptionError


def cli_error(*options: str) -> str:
    """The last line ``rau segment`` prints for ``options`` (they are refused before any file is read)."""
    done = subprocess.run([sys.executable, "-m", "rau.cli", "segment", "--reference", "r.nii.gz", "--reference-labels", "l.nii.gz",
                           "--target", "t.nii.gz", "--out", "o.nii.gz", *options], capture_output=True, text=True)
    assert done.returncode == 2
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("engine", ["registration", "vessels"])
def test_an_engine_built_with_top_k_0_is_refused_in_the_command_lines_words(engine):
    from rau.engines import engine_class

    with pytest.raises(OptionError) as refused:
        engine_class(engine)(top_k=0)
    assert str(refused.value) == "option top_k (--top-k): must be at least 1, got 0"
    assert cli_error("--top-k", "0").endswith(str(refused.value))


def test_a_registration_engine_built_with_an_unknown_fusion_is_refused_when_built():
    """Before: ``RegistrationEngine(fusion="bogus")`` was taken, and failed only in fusing, every reference registered."""
    from rau.engines.registration import RegistrationEngine

    with pytest.raises(OptionError, match=r"option fusion \(--fusion\): 'bogus' is not one of local, vote, staple"):
        RegistrationEngine(fusion="bogus")



@pytest.mark.parametrize("value, message", [
    (0, "option top_k (--top-k): must be at least 1, got 0"),
    (2.5, "option top_k (--top-k): expected int, got 2.5"),
    ("2", "option top_k (--top-k): expected int, got '2'"),
])
def test_a_sam2_segmenter_built_with_a_bad_top_k_is_refused_when_built(value, message):
    """Before: taken; with top_k 0 the run ended with every structure absent (confidence 0), no error."""
    from rau.sam2.segmenter import Sam2Segmenter

    with pytest.raises(OptionError) as refused:
        Sam2Segmenter("tiny", device="cpu", top_k=value)
    assert str(refused.value) == message


@pytest.mark.parametrize("options, message", [
    ({"slice_margin": -1}, "option slice_margin (--slice-margin): must be at least 0, got -1"),
    ({"slice_margin": 1.5}, "option slice_margin (--slice-margin): expected int, got 1.5"),
    ({"slice_axis": "x"}, "option slice_axis (--slice-axis): 'x' is not one of auto, i, j, k"),
])
def test_a_sam2_segmenter_built_with_a_bad_slice_option_is_refused_when_built(options, message):
    from rau.sam2.segmenter import Sam2Segmenter

    with pytest.raises(OptionError) as refused:
        Sam2Segmenter("tiny", device="cpu", **options)
    assert str(refused.value) == message


@pytest.mark.parametrize("value, message", [
    (None, "option deformable (--no-deformable): a value is required"),
    ("yes", "option deformable (--no-deformable): expected bool, got 'yes'"),
    (0, "option deformable (--no-deformable): expected bool, got 0"),
])
def test_a_vessel_engine_built_with_a_deformable_that_is_not_a_bool_is_refused_when_built(value, message):
    """Before: taken; None quietly turned the B-spline bend off."""
    from rau.engines.vessels import VesselEngine

    with pytest.raises(OptionError) as refused:
        VesselEngine(deformable=value)
    assert str(refused.value) == message


def test_an_option_out_of_range_is_named_as_one_of_the_wrong_type_is():
    """Before: "--top-k must be at least 1, got 0" named only the command line's flag to a Python caller, beside
    "option top_k (--top-k): expected int, got 2.5"."""
    from rau.options import checked_option

    refusals = []
    for value in (0, 2.5):
        with pytest.raises(OptionError) as refused:
            checked_option("top_k", value)
        refusals.append(str(refused.value))
    assert all(said.startswith("option top_k (--top-k): ") for said in refusals)


def test_an_interface_names_the_option_by_its_field_but_leaves_paths_as_they_are():
    """Before: "the model at /models/--vlm-model/x" became "/models/'VLM model'/x": a flag inside a path was reworded."""
    from rau.options import in_words

    names = {"vlm_model": "'VLM model'", "device": "'Device'"}
    assert in_words("--vlm-model /models/--vlm-model/x: damaged; see --device", names) == "'VLM model' /models/--vlm-model/x: damaged; see 'Device'"
    assert in_words("option vlm_model (--vlm-model) must be a string; --vlm-model-revision, x--device", names) == (
        "option 'VLM model' must be a string; --vlm-model-revision, x--device")


def test_the_server_rewords_any_input_error_as_the_panel_does_keeping_the_error():
    """Before: the server reworded only an OptionError (into a new one): a plain InputError naming ``--top-k`` reached
    the client with the flag, where the panel rewords it."""
    from rau.errors import InputError
    from rau.serve.options import in_client_words

    error = InputError("--top-k 3: more than the 2 references given")
    assert in_client_words(error) is error and str(error) == "top_k 3: more than the 2 references given"


def test_a_windows_path_keeps_a_flag_inside_it():
    """Before: only / guarded a path: ``C:\\models\\--sam2-model\\x`` became ``C:\\models\\'SAM2 model'\\x``."""
    from rau.options import in_words

    assert in_words(r"--sam2-model C:\models\--sam2-model\x: damaged", {"sam2_model": "'SAM2 model'"}) == (
        r"'SAM2 model' C:\models\--sam2-model\x: damaged")


def test_an_option_the_interface_cannot_set_is_not_offered():
    """Before: the panel said '... within 3 s (--vlm-timeout)' and 'name it with --vlm-model or --vlm-family', flags it
    has no field for; None in ``names`` now leaves such an aside or alternative out (a flag said otherwise stays)."""
    from rau.options import in_words

    names = {"vlm_model": "'VLM model'", "vlm_family": None, "vlm_timeout": None}
    assert in_words("no answer within 3 s (--vlm-timeout); name it with --vlm-model or --vlm-family", names) == (
        "no answer within 3 s; name it with 'VLM model'")
    assert in_words("(the family of --vlm-model, or --vlm-family); option vlm_timeout (--vlm-timeout): must be > 0", names) == (
        "(the family of 'VLM model'); option vlm_timeout: must be > 0")
    assert in_words("--vlm-family is ignored", names) == "--vlm-family is ignored"
