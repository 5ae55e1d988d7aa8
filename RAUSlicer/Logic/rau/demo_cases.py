"""The bundled demo's cases and where their data lie; light, so ``rau demo --help`` lists them without loading the
demo's machinery (:mod:`rau.demo`)."""

from __future__ import annotations

from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data"
DEMO_CASES = {"hc18_ultrasound": "hc18_demo.csv", "abdominal_ct": "totalseg_ct_demo.csv", "coronary_angiogram": "arcade_demo.csv"}
CASE_ENGINES = {"coronary_angiogram": "vessels"}
"""Each case's engine when ``--engine`` names none; the others run the default engine."""
