"""An engine built in Python (the Slicer console, a script) refuses a bad option when it is built, in the command
line's words (rau.options.checked_option), not after every reference was registered."""

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
    assert str(refused.value) == "--top-k must be at least 1, got 0"
    assert cli_error("--top-k", "0").endswith(str(refused.value))


def test_a_registration_engine_built_with_an_unknown_fusion_is_refused_when_built():
    """Before: ``RegistrationEngine(fusion="bogus")`` was taken, and failed only in fusing, every reference registered."""
    from rau.engines.registration import RegistrationEngine

    with pytest.raises(OptionError, match=r"option fusion \(--fusion\): 'bogus' is not one of local, vote, staple"):
        RegistrationEngine(fusion="bogus")

