"""Qt-side helpers of the RAUSlicer module: dependency checks and installs, background jobs.

Computation lives in ``rau`` (under ``Logic/``); these files only serve the Slicer shell.
"""
