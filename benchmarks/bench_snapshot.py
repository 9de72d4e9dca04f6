"""Benchmark: the demo's review pack (`northstar snapshot`), and what one browser for the pack saves.

    .venv/bin/python benchmarks/bench_snapshot.py                      # the shipped config on data/demo
    .venv/bin/python benchmarks/bench_snapshot.py --config DIR --as-of 2026-11-20 --per-image 5

Prints the time of each stage of `build_pack` (scoring the OKRs and running the data checks, side
by side while the browser starts; building the figures; rendering the PNGs with one Chromium;
writing the pages), then renders the first
--per-image images again with a fresh browser for each image (what kaleido's `write_image` /
`write_fig_sync` do when no server is running) and extrapolates that to the whole pack. Loading
the project (which imports Great Expectations) is timed separately and is not part of the pack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", type=Path, default=ROOT / "config", help="project folder (default: config/)"
    )
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="keep the pack here (default: a temporary folder)"
    )
    parser.add_argument(
        "--per-image", type=int, default=5, help="images to render with a browser each (0: skip)"
    )
    parser.add_argument("--browser", default=None, help="Chromium executable (default: as the pack finds it)")
    args = parser.parse_args()

    from dashboard.cli import REPO, _is_demo_config

    if _is_demo_config(args.config):
        from metrics.demo.generate import ensure_demo

        ensure_demo(REPO)

    from dashboard.pack.build import build_pack, stamped
    from dashboard.pack.images import Image, find_browser, render_pngs
    from dashboard.pack.model import SCALE
    from metrics.engine import Engine
    from metrics.load import load_project

    began = time.perf_counter()
    project = load_project(args.config)
    engine = Engine(project, today=(lambda: args.as_of) if args.as_of else None)
    loaded = time.perf_counter() - began
    browser = find_browser(args.browser)
    print(f"project {project.settings.name!r} from {args.config} loaded in {loaded:.1f} s; browser {browser}")

    with tempfile.TemporaryDirectory(prefix="northstar-bench-") as tmp:
        out = args.out or Path(tmp) / "pack"
        began = time.perf_counter()
        summary = build_pack(project, engine, out, as_of=args.as_of, browser=browser)
        total = time.perf_counter() - began
        images = len(summary.images)
        print()
        print(summary)
        print()
        print(f"{'stage':<40}{'seconds':>9}")
        for stage, seconds in summary.timings.items():
            note = {"scorecard": "   } side by side, with the browser", "quality": "   } starting up"}.get(
                stage, ""
            )
            print(f"{stage:<40}{seconds:>9.2f}{note}")
        print(f"{'  of which waiting for the browser':<40}{summary.render.startup_seconds:>9.2f}")
        per = (summary.render.seconds - summary.render.startup_seconds) / images if images else 0.0
        print(f"{'  per image (browser running)':<40}{per:>9.2f}")
        print(f"{'whole pack (' + str(images) + ' images), wall time':<40}{total:>9.2f}   target: under 30 s")

        count = min(args.per_image, images)
        if count:
            jobs = [
                Image(
                    figure=stamped(item.figure, item.stamp),
                    path=Path(tmp) / "per-image" / item.file,
                    width=item.width,
                    height=item.height,
                    scale=SCALE,
                )
                for item in summary.items[:count]
            ]
            stats = render_pngs(jobs, browser=browser, one_browser=False)
            each = stats.seconds / count
            print()
            print(
                f"one browser per image, first {count} images: {stats.seconds:.2f} s ({each:.2f} s an image)"
            )
            print(
                f"  extrapolated to the pack's {images} images: {each * images:.1f} s of rendering, "
                f"vs {summary.render.seconds:.1f} s with one browser"
            )


if __name__ == "__main__":
    main()
