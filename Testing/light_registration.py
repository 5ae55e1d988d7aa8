"""A lighter registration for tests that check what the engine does, not how accurately it fits.

The defaults (working size 128, 100 affine and 30 field iterations) cost 10-20 s on a CT; these settings go through
the same stages and code paths (starts, similarity, affine, displacement field) on a 64-voxel working grid with fewer
iterations, several times faster. Tests whose point is an accuracy threshold keep the defaults unless the light
setting passes with a clear margin.
"""

from __future__ import annotations

from dataclasses import replace

from rau.engines.registration import RegistrationEngine
from rau.options import DEFAULT_FUSION, DEFAULTS
from rau.registration import RegistrationSettings

LIGHT = {"working_size": 64, "affine_iterations": 30, "field_iterations": 10}


def light_settings(deformable: bool = True, **overrides) -> RegistrationSettings:
    """:class:`RegistrationSettings` with :data:`LIGHT`, ``deformable`` and any other setting in ``overrides``."""
    return replace(RegistrationSettings(), deformable=deformable, **{**LIGHT, **overrides})


def light_registration_engine(deformable: bool = True, top_k: int = DEFAULTS.top_k, fusion: str = DEFAULT_FUSION,
                              keep_transfers: bool = False, **overrides) -> RegistrationEngine:
    """The registration engine as ``create_engine("registration", {...})`` builds it, on :func:`light_settings`."""
    return RegistrationEngine(light_settings(deformable, **overrides), top_k, fusion, keep_transfers)


def make_registration_light(monkeypatch) -> None:
    """For the rest of the test, ``create_engine("registration", options)`` builds :func:`light_registration_engine`
    with the options' ``deformable``, ``top_k``, ``fusion`` and ``keep_transfers``: for runs that go through an
    engine name and options (the Slicer module's logic)."""
    def from_options(cls, options):
        return light_registration_engine(options.deformable, options.top_k, options.fusion, options.keep_transfers)

    monkeypatch.setattr(RegistrationEngine, "from_options", classmethod(from_options))
