"""``python -m skgnas`` runs the ``skgnas`` command."""

import sys

from ._cli import main

sys.exit(main())
