import sys

from cfdash.cli import main

sys.exit(main())
