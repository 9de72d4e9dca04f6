"""Writes `data/events.parquet` for the shop project the consistency harness reads (tests/test_consistency.py).

A small online shop's clickstream, 2025-01-01 .. 2025-06-30 in Los Angeles time (timestamps naive
UTC), seeded so the file is the same on every run. It holds two known defects for the data checks:
a purchase with a negative amount on 2025-03-12 (an error check fails on that day) and one row from
an unknown platform on 2025-05-20 (a warning). Run it from the repository root:
`.venv/bin/python tests/projects/shop/make_data.py`; the file is committed, so tests do not run it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

OUT = Path(__file__).resolve().parent / "data" / "events.parquet"
ZONE = ZoneInfo("America/Los_Angeles")
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 6, 30)
NEGATIVE_AMOUNT_DAY = dt.date(2025, 3, 12)
UNKNOWN_PLATFORM_DAY = dt.date(2025, 5, 20)
SEED = 2025


def _utc(day: dt.date, seconds: float) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=ZONE) + dt.timedelta(seconds=seconds)
    return local.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)


def generate() -> pl.DataFrame:
    rng = np.random.default_rng(SEED)
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    rows: list[tuple[dt.datetime, str, str, str, float | None, float | None]] = []
    users: list[tuple[str, dt.date, str, float]] = []  # id, signup day, platform, loyalty
    for index, day in enumerate(days):
        weekend = day.weekday() >= 5
        new = rng.poisson(5 + index * 0.02 + (2 if weekend else 0))
        for _ in range(new):
            user = (
                f"u{len(users):05d}",
                day,
                str(rng.choice(["web", "ios", "android"], p=[0.5, 0.3, 0.2])),
                rng.beta(2, 5),
            )
            users.append(user)
            rows.append((_utc(day, rng.uniform(8, 22) * 3600), user[0], "signup", user[2], None, None))
        # page loads get faster in spring (a release on 2025-03-01), checkout errors fall in May
        load_scale = 1650.0 if day < dt.date(2025, 3, 1) else 1450.0
        error_rate = 0.06 if day < dt.date(2025, 5, 1) else 0.035
        for user_id, signup, platform, loyalty in users:
            age = (day - signup).days
            if age < 0:
                continue
            chance = (
                0.9
                if age == 0
                else loyalty * (0.55 if age < 8 else 0.3 * np.exp(-age / 75)) * (1.15 if weekend else 1.0)
            )
            if rng.random() >= chance:
                continue
            t = rng.uniform(7, 23) * 3600
            rows.append((_utc(day, t), user_id, "session_start", platform, None, None))
            for _ in range(1 + rng.poisson(2)):
                t += rng.uniform(10, 120)
                load = float(round(rng.lognormal(np.log(load_scale * 0.6), 0.45)))
                rows.append((_utc(day, t), user_id, "view_item", platform, None, load))
            if rng.random() < 0.32 + 0.05 * (day >= dt.date(2025, 4, 1)):
                t += rng.uniform(20, 300)
                rows.append((_utc(day, t), user_id, "add_to_cart", platform, None, None))
                if rng.random() < error_rate * 4:
                    rows.append((_utc(day, t + 5), user_id, "checkout_error", platform, None, None))
                if rng.random() < 0.62:
                    t += rng.uniform(30, 900)
                    amount = float(round(rng.lognormal(np.log(42), 0.5), 2))
                    rows.append((_utc(day, t), user_id, "purchase", platform, amount, None))
    frame = pl.DataFrame(
        rows,
        schema={
            "ts": pl.Datetime("us"),
            "user_id": pl.String,
            "event": pl.String,
            "platform": pl.String,
            "amount": pl.Float64,
            "load_ms": pl.Float64,
        },
        orient="row",
    ).sort("ts")
    defects = pl.DataFrame(
        [
            (_utc(NEGATIVE_AMOUNT_DAY, 15 * 3600), "u00001", "purchase", "web", -35.0, None),
            (_utc(UNKNOWN_PLATFORM_DAY, 16 * 3600), "u00002", "session_start", "tablet", None, None),
        ],
        schema=frame.schema,
        orient="row",
    )
    return pl.concat([frame, defects]).sort("ts")


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    events = generate()
    events.write_parquet(OUT, compression="zstd", statistics=False)
    print(f"wrote {events.height:,} events to {OUT} ({OUT.stat().st_size / 1e3:.0f} kB)")
