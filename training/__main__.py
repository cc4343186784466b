"""``python -m training``: the training toolkit's command line (see training/cli.py)."""

from training.cli import main

raise SystemExit(main())
