"""`python -m gwcore` runs the command line."""
from gwcore.cli import main

raise SystemExit(main())
