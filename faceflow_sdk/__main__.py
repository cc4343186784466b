"""``python -m faceflow_sdk``: the ``faceflow`` command line."""

from faceflow_sdk.cli import main

raise SystemExit(main())
