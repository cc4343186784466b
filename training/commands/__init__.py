"""The commands of ``python -m training``, one module per command group.

Each module registers its commands on the top-level subparsers (``add_<command>``) and holds
their handlers: ``train``, ``evaluate`` and ``export`` (one subcommand per recipe), ``data``
(align, split), ``compress`` (quantize, prune, distill) and ``reports`` (flops, plot).
``training/cli.py`` builds the parser from them; ``common`` holds what several groups share.
"""
