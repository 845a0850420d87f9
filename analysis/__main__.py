"""`python -m analysis` runs the same command line as `actgrad`."""

import sys

from analysis.cli.app import main

sys.exit(main())
