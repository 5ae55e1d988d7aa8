"""``python -m rau``: the ``rau`` command line (:func:`rau.cli.main`)."""

import sys

from rau.cli import main

sys.exit(main())
