"""What each ``rau`` command does, one module each (``run``); its command line is in :mod:`rau.arguments`."""
