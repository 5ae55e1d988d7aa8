"""``rau evaluate``'s multi-reference figures are each reference's own Dice inside the pool (registered upright, as a
pool's members are), not that reference run alone (which also tries starts turned +-30 degrees): the printed summary
says so (README, "rau evaluate")."""

import numpy as np

from rau.evaluation.report import print_table
from rau.evaluation.runner import CaseScore, ranking_quality, summarize


def test_the_summary_line_says_the_dice_figures_are_in_the_pool(capsys):
    """Before: 'top-1 Dice 0.700, best single reference Dice 0.900', read as the Dice of that reference run alone."""
    cube = np.zeros((1, 20, 20), bool)
    cube[0, 5:15, 5:15] = True
    transfers = {"near": {"cube": np.roll(cube, 1, axis=2)}, "far": {"cube": np.roll(cube, 3, axis=2)}}
    ranking = [{"reference": "far", "score": 0.9, "similarity": 0.9}, {"reference": "near", "score": 0.8, "similarity": 0.8}]
    summary = summarize([CaseScore("t.png", ["far", "near"], 1.0, [], ranking_quality(transfers, ranking, {"cube": cube}))])
    print_table(summary)
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("reference ranking:"))
    assert line.endswith("top-1 Dice in the pool 0.700, best single reference Dice in the pool 0.900 "
                         "(as registered in the pool; run alone, a reference may score otherwise)"), line
