"""Plot the open-set trade-off of ``evaluation/open_set.py`` runs: rank-1 against strangers.

Each run's JSON holds, per gallery size, a ``curve`` (rank-1 of enrolled people and the share
of strangers accepted over a range of thresholds, from each probe's top match) and the
operating points the service answered (default ``fpir`` 1e-3, 0.01, 1e-4). One line per run at
the chosen size, its default operating point marked; strangers on a log axis.

    .venv/bin/python evaluation/open_set_curve.py --size 20000 --out docs/img/open-set-20k.png \\
        sface=docs/open-set/sface.json sface_dlib=docs/open-set/sface_dlib.json ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# Strangers accepted are plotted on a log axis; a measured 0 (none of the ~600) sits here.
ZERO_STRANGERS = 1e-4


def load_size(path: Path, size: str) -> dict[str, Any]:
    """One gallery size of a run's JSON; SystemExit naming the sizes it has otherwise."""
    sizes: dict[str, Any] = json.loads(path.read_text())["sizes"]
    if size not in sizes:
        raise SystemExit(f"{path} has no gallery of {size} faces (it has {', '.join(sizes)})")
    return dict(sizes[size])


def plot(runs: dict[str, dict[str, Any]], size: str, output: Path) -> None:
    """Write the PNG: one curve per run, its default operating point as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for label, result in runs.items():
        points = sorted(result["curve"], key=lambda p: -p["threshold"])
        # of the strict thresholds that let no stranger in, only the loosest (best rank-1)
        none = [p for p in points if p["strangers_accepted"] == 0]
        points = [p for p in points if p["strangers_accepted"] > 0 or p is none[-1]]
        strangers = [max(p["strangers_accepted"], ZERO_STRANGERS) for p in points]
        line = axis.plot(strangers, [p["rank1_dir"] for p in points], marker=".", label=label)[0]
        default = result["default"]
        axis.plot(
            max(default["strangers_accepted"], ZERO_STRANGERS),
            default["rank1_dir"],
            "o",
            color=line.get_color(),
            markersize=9,
            markerfacecolor="none",
        )
    axis.set_xscale("log")
    axis.set_xlabel(f"strangers accepted (of the never-enrolled probes; {ZERO_STRANGERS:g} = none)")
    axis.set_ylabel("rank-1 of enrolled people (right user, above the threshold)")
    axis.set_title(f"Open-set search over {int(size):,} faces (circle: the default fpir 1e-3)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="LABEL=PATH of open_set.py JSON outputs")
    parser.add_argument("--size", default="20000", help="the gallery size to plot")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    options = parser.parse_args()
    runs = {}
    for run in options.runs:
        label, _, path = run.partition("=")
        if not path:
            raise SystemExit(f"{run!r}: expected LABEL=PATH")
        runs[label] = load_size(Path(path), options.size)
    plot(runs, options.size, options.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
