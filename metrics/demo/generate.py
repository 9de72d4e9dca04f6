"""The bundled demo product: a year of events of "Acme Notes", a B2B SaaS note-taking app.

One stage, the generator: its tuning constants, the behaviour model and the writer share the
per-user arrays of one batch, so they stay in one module (this docstring is a sixth of it).

`generate_demo(out_dir)` writes `out_dir/events.parquet` covering the 365 days that end on `end`
(default: today, UTC, by the project's clock `metrics.definitions.clock`). Everything is drawn from
`numpy.random.Generator`s seeded from `seed`, so the same `seed`, `end` and `events` give the same rows
(and, with the same pyarrow, the same bytes). When `end` is today the rows are cut at the start of the
previous full hour (UTC), so the newest event is one to two hours old and nothing lies in the future;
only that cut depends on the clock (with `NORTHSTAR_TODAY` pinned the clock stands at noon UTC of that
day, so the cut is 11:00 UTC and a pinned demo is the same on any day).

Schema (one row per event; row order is not meaningful):

=========  ==================  ===============================================================
column     type                meaning
=========  ==================  ===============================================================
ts         Datetime("us")      event time, naive, UTC
user_id    String (nullable)   "u000123"; the same id before and after sign-up
event      String              signup, session_start, page_view, create_note, create_project,
                               invite_teammate, upgrade, purchase, use_ai_summary
platform   String              web | ios | android (the platform of the event)
country    String              US, GB, DE, FR, IN, BR, CA, JP (the user's)
plan       String              free | pro | team: the user's plan at the time of the event
channel    String              organic | paid_search | social | referral | partner (the user's)
amount     Float64             purchase rows only: pro 12.0, team 8.0 per seat; null elsewhere
load_ms    Float64             page_view rows only: page load time in milliseconds; null elsewhere
=========  ==================  ===============================================================

The story the data tells:

* A base of users who signed up before the year keeps using the product (their sign-ups are not
  in the data); new sign-ups grow about 2x over the year, peak Monday-Thursday and dip on weekends
  and over the Christmas holidays; a partner programme starts around day 110, a paid-search
  campaign runs for 25 days around day 190.
* Activation funnel signup -> create_note -> create_project -> invite_teammate: most first notes
  come in the sign-up session, projects after hours to days, invitations after days.
* Users churn silently. Retention is better on the team plan (then pro, then free), on web (then
  ios, then android), and for referral and partner users; the cohort's plan is the plan chosen at
  sign-up (most users start free; some start directly on pro or team).
* Free users upgrade (`upgrade`, once per user, also right after sign-up for users who start on a
  paid plan); each paid user has a `purchase` at upgrade and monthly renewals (every 30 days)
  until some weeks after they stop using the product. Purchases are made on web.
* `use_ai_summary` launches `AI_LAUNCH_DAYS_BEFORE_END` (45) days before `end` (midnight UTC); it
  does not exist before; adoption grows over the following weeks, the launch lifts daily activity
  (DAU) by about 15% and brings a burst of social and organic sign-ups.
* `load_ms` is lognormal with a long tail, slower on android and in IN and BR; a performance release
  `PERF_RELEASE_DAYS_BEFORE_END` (28) days before `end` makes pages about 30% faster and trims the
  tail, so the p90 page load drops.
* Some users browse (page_view on web) in the two hours before they sign up; their id is attached
  to those rows (anonymous-then-identified). About 0.6% of new users have a second signup event.

Data defects, on purpose, for the data-quality checks to catch. Each sits on a UTC calendar day
(as a warehouse partitions them) N days before `end`, moved back to the Friday before when that day
falls on a weekend, so that it lands on a busy day; `DemoSummary.defects` gives the dates:

* ``null_user_day`` (N = 40): every event of that day has a null `user_id` (a broken identity
  join). No other row has a null user.
* ``duplicated_hour`` (N = 20): the events of 14:00-15:00 UTC (`DUPLICATED_HOUR_UTC`) that day were
  loaded twice, as exact duplicate rows (in a demo too small to keep an event then, those of the
  day's nearest hour with events, so the defect is always there). No other row is duplicated.
* ``late_day`` (N = 10): only about 5% of that day's events arrived (ingestion lag).

In a project whose timezone is not UTC (the shipped config uses Europe/Berlin) each defect day
spills an hour or two into the neighbouring local day.

Memory stays flat: users are generated in batches (whole lifetimes at a time) and each batch is
written as parquet row groups through `pyarrow.parquet.ParquetWriter`; all work is vectorised with
numpy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import os
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from metrics.definitions import clock

__all__ = [
    "AI_LAUNCH_DAYS_BEFORE_END",
    "DUPLICATED_HOUR_UTC",
    "EVENTS",
    "PERF_RELEASE_DAYS_BEFORE_END",
    "DemoSummary",
    "ensure_demo",
    "generate_demo",
]

Arr = npt.NDArray[Any]

EVENTS = (
    "signup",
    "session_start",
    "page_view",
    "create_note",
    "create_project",
    "invite_teammate",
    "upgrade",
    "purchase",
    "use_ai_summary",
)
PLATFORMS = ("web", "ios", "android")
COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "CA", "JP")
PLANS = ("free", "pro", "team")
CHANNELS = ("organic", "paid_search", "social", "referral", "partner")

DAYS = 365
AI_LAUNCH_DAYS_BEFORE_END = 45
PERF_RELEASE_DAYS_BEFORE_END = 28
NULL_USER_DAYS_BEFORE_END = 40
DUPLICATED_HOUR_DAYS_BEFORE_END = 20
DUPLICATED_HOUR_UTC = 14
LATE_DAY_DAYS_BEFORE_END = 10
LATE_DAY_KEPT_SHARE = 0.05

# Event codes.
_SIGNUP, _SESSION, _PAGE, _NOTE, _PROJECT, _INVITE, _UPGRADE, _PURCHASE, _AI = range(9)
_WEB, _IOS, _ANDROID = range(3)
_FREE, _PRO, _TEAM = range(3)

_DAY_S = 86_400
_MONTH_S = 30 * _DAY_S
_NEVER = 1 << 40  # seconds; later than any event
_KEY_SHIFT = 1 << 26  # seconds (~776 days) per user in the session sort key
_KEY_OFFSET = 3 * _DAY_S

# Rows produced per unit of scale (sign-ups per day at the start of the year), measured on large
# runs; it sets how many candidate users to draw. Re-measure when the model changes.
_ROWS_PER_SCALE = 77_100.0
_BASE_USERS_PER_SCALE = 90
_MAX_USER_DAYS_PER_BATCH = 300_000
_ROW_GROUP_ROWS = 262_144

_COUNTRY_P = np.array([0.40, 0.11, 0.12, 0.07, 0.10, 0.07, 0.07, 0.06])
# Cumulative platform mix (web, ios, android) per country.
_PLATFORM_CUM = np.cumsum(
    np.array(
        [
            [0.56, 0.30, 0.14],  # US
            [0.55, 0.30, 0.15],  # GB
            [0.62, 0.20, 0.18],  # DE
            [0.60, 0.22, 0.18],  # FR
            [0.45, 0.10, 0.45],  # IN
            [0.45, 0.12, 0.43],  # BR
            [0.56, 0.28, 0.16],  # CA
            [0.50, 0.38, 0.12],  # JP
        ]
    ),
    axis=1,
)
_COUNTRY_SLOWNESS = np.array([1.0, 1.0, 0.95, 1.0, 1.4, 1.3, 1.0, 0.9])
# Plan at sign-up (free, pro, team) by channel; the last row is for the pre-year base.
_PLAN_CUM = np.cumsum(
    np.array(
        [
            [0.94, 0.03, 0.03],  # organic
            [0.95, 0.03, 0.02],  # paid_search
            [0.97, 0.02, 0.01],  # social
            [0.88, 0.04, 0.08],  # referral
            [0.74, 0.06, 0.20],  # partner
            [0.62, 0.18, 0.20],  # base
        ]
    ),
    axis=1,
)
_BASE_CHANNEL_P = np.array([0.55, 0.20, 0.10, 0.15, 0.0])
_PLATFORM_M = np.array([1.15, 1.0, 0.8])
_PLATFORM_Q = np.array([1.0, 0.95, 0.85])
_PLAN_M = np.array([1.0, 1.3, 1.7])
_CHANNEL_M = np.array([1.05, 0.85, 0.75, 1.2, 1.15])
_CHANNEL_ACT = np.array([1.0, 0.85, 0.8, 1.15, 1.2])
_PRESIGNUP_P = np.array([0.35, 0.55, 0.45, 0.15, 0.10])
_LOAD_MEDIAN = np.array([820.0, 650.0, 1450.0])

# Sign-up and activity by weekday (Monday first).
_SIGNUP_WEEKDAY = np.array(
    [
        [1.12, 1.15, 1.12, 1.06, 0.92, 0.50, 0.53],  # organic
        [1.18, 1.20, 1.16, 1.10, 0.90, 0.42, 0.44],  # paid_search
        [1.02, 1.02, 1.00, 1.00, 1.00, 0.90, 0.96],  # social
        [1.14, 1.16, 1.12, 1.06, 0.92, 0.48, 0.52],  # referral
        [1.25, 1.25, 1.22, 1.15, 0.90, 0.20, 0.23],  # partner
    ]
)
_ACTIVE_WEEKDAY = np.array([1.08, 1.10, 1.08, 1.04, 0.94, 0.42, 0.46])
# Local hour of a session (B2B working day).
_HOURLY = np.array(
    [
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.2,
        3.0,
        6.0,
        9.0,
        9.5,
        9.0,
        7.0,
        8.5,
        9.0,
        8.5,
        7.5,
        5.5,
        4.0,
        3.0,
        3.0,
        2.5,
        1.5,
        0.7,
    ]
)
_HOURLY_CDF = np.cumsum(_HOURLY) / _HOURLY.sum()


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    """What `generate_demo` wrote."""

    path: pathlib.Path
    rows: int
    start: dt.date
    end: dt.date
    seconds: float
    defects: dict[str, dt.date]
    launches: dict[str, dt.date]


@dataclasses.dataclass(frozen=True)
class _Calendar:
    start: dt.date
    start_us: int  # start midnight, microseconds since the epoch
    cutoff_s: int  # rows are kept when 0 <= ts (seconds since start) < cutoff_s
    weekday: Arr  # weekday (0 = Monday) of day index 0..DAYS-1
    season: Arr  # holiday and summer dips per day
    lift: Arr  # activity multiplier from the AI launch
    ai_ramp: Arr  # share of an adopter's sessions that use the AI summary
    launch_day: int
    perf_day: int
    null_day: int
    dup_day: int
    late_day: int


def _workday_before(days: list[dt.date], index: int) -> int:
    """`index`, or the Friday before it when it falls on a weekend (defects show best on busy days)."""
    while days[index].weekday() >= 5:
        index -= 1
    return index


def _calendar(end: dt.date, now: dt.datetime) -> _Calendar:
    start = end - dt.timedelta(days=DAYS - 1)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    start_dt = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)
    cutoff = start_dt + dt.timedelta(days=DAYS)
    fresh = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    cutoff = min(cutoff, fresh)
    days = [start + dt.timedelta(days=i) for i in range(DAYS)]
    season = np.array(
        [
            0.55
            if (d.month == 12 and d.day >= 23) or (d.month == 1 and d.day <= 2)
            else 0.88
            if d.month == 8
            else 1.0
            for d in days
        ]
    )
    idx = np.arange(DAYS)
    launch = DAYS - 1 - AI_LAUNCH_DAYS_BEFORE_END
    since = np.maximum(idx - launch, 0)
    after = idx >= launch
    lift = np.where(after, 1.0 + 0.15 * (1.0 - np.exp(-since / 10.0)), 1.0)
    ai_ramp = np.where(after, 0.12 + 0.6 * (1.0 - np.exp(-since / 16.0)), 0.0)
    return _Calendar(
        start=start,
        start_us=int((start_dt - epoch) // dt.timedelta(microseconds=1)),
        cutoff_s=int((cutoff - start_dt).total_seconds()),
        weekday=np.array([d.weekday() for d in days]),
        season=season,
        lift=lift,
        ai_ramp=ai_ramp,
        launch_day=launch,
        perf_day=DAYS - 1 - PERF_RELEASE_DAYS_BEFORE_END,
        null_day=_workday_before(days, DAYS - 1 - NULL_USER_DAYS_BEFORE_END),
        dup_day=_workday_before(days, DAYS - 1 - DUPLICATED_HOUR_DAYS_BEFORE_END),
        late_day=_workday_before(days, DAYS - 1 - LATE_DAY_DAYS_BEFORE_END),
    )


def _signup_counts(cal: _Calendar, scale: float, rng: np.random.Generator) -> Arr:
    """New users per (day, channel): growth, weekly seasonality, campaigns, launch burst, noise."""
    d = np.arange(DAYS, dtype=np.float64)
    growth = np.exp(math.log(2.1) * d / (DAYS - 1))
    since_launch = d - cal.launch_day
    burst = np.where(since_launch >= 0, np.exp(-np.maximum(since_launch, 0) / 2.5), 0.0)
    campaign = np.where((d >= 190) & (d < 215), 1.7, 1.0)
    partner_ramp = np.clip((d - 110) / 60.0, 0.0, 1.0)
    share = np.stack(
        [
            0.38 * (1.0 + 0.8 * burst),
            0.22 * campaign,
            0.14 * (1.0 + 4.0 * burst),
            0.14 * (0.8 + 0.5 * d / (DAYS - 1)),
            0.12 * partner_ramp,
        ],
        axis=1,
    )
    weekly = _SIGNUP_WEEKDAY[:, cal.weekday].T
    noise = rng.gamma(30.0, 1.0 / 30.0, DAYS)[:, None] * rng.gamma(60.0, 1.0 / 60.0, (DAYS, 5))
    rate = scale * share * weekly * (growth * cal.season)[:, None] * noise
    counts: Arr = rng.poisson(rate)
    return counts


def _pick(cum: Arr, rows: Arr, rng: np.random.Generator) -> Arr:
    """Draw one category per element from cumulative probabilities `cum[rows]`."""
    u = rng.random(len(rows))
    picked: Arr = (u[:, None] > cum[rows]).sum(axis=1).clip(0, cum.shape[1] - 1)
    return picked


def _expand(counts: Arr) -> tuple[Arr, Arr]:
    """Parent index and 0-based position within the parent for each of sum(counts) children."""
    counts = counts.astype(np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - first[parent]


def _next_session(keys: Arr, s_user: Arr, users: Arr, target_s: Arr) -> tuple[Arr, Arr]:
    """For each (user, target time) the index of the user's first session starting at or after it."""
    t = np.clip(target_s + _KEY_OFFSET, 0, _KEY_SHIFT - 1)
    idx = np.searchsorted(keys, users * _KEY_SHIFT + t, side="left")
    safe = np.minimum(idx, max(len(keys) - 1, 0))
    ok = (idx < len(keys)) & (s_user[safe] == users) if len(keys) else np.zeros(len(users), bool)
    return safe, ok


class _Rows:
    """Column pieces of one batch, concatenated at the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[Arr, Arr, int, Arr, Arr | None]] = []

    def add(self, ts: Arr, user: Arr, event: int, platform: Arr, amount: Arr | None = None) -> None:
        if len(ts):
            self.parts.append((ts, user, event, platform, amount))

    def columns(self) -> tuple[Arr, Arr, Arr, Arr, Arr]:
        if not self.parts:
            self.parts.append((np.zeros(0, np.int64), np.zeros(0, np.int64), 0, np.zeros(0, np.int8), None))
        ts = np.concatenate([p[0] for p in self.parts]).astype(np.int64)
        user = np.concatenate([p[1] for p in self.parts]).astype(np.int64)
        event = np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in self.parts])
        platform = np.concatenate([p[3] for p in self.parts]).astype(np.int8)
        amount = np.concatenate(
            [p[4] if p[4] is not None else np.full(len(p[0]), np.nan) for p in self.parts]
        )
        return ts, user, event, platform, amount


def _batch(cal: _Calendar, rng: np.random.Generator, d0: Arr, channel: Arr, is_base: Arr) -> dict[str, Arr]:
    """All events of a batch of users over their lifetimes, as code arrays (ts in seconds)."""
    n = len(d0)
    new = ~is_base
    country = _pick(np.cumsum(_COUNTRY_P)[None, :], np.zeros(n, np.int64), rng)
    us_offset = np.array([-5, -6, -7, -8])[
        _pick(np.cumsum([[0.5, 0.25, 0.05, 0.2]], axis=1), np.zeros(n, np.int64), rng)
    ]
    tz_hours = np.array([0.0, 0.0, 1.0, 1.0, 5.5, -3.0, -5.0, 9.0])[country]
    tz_s = (np.where(country == 0, us_offset, tz_hours) * 3600).astype(np.int64)
    platform = _pick(_PLATFORM_CUM, country, rng)
    second = np.where(rng.random(n) < 0.18, (platform + 1 + rng.integers(0, 2, n)) % 3, -1)
    eng = rng.lognormal(0.0, 0.45, n)
    plan0 = _pick(_PLAN_CUM, np.where(is_base, 5, channel), rng)
    m = _PLATFORM_M[platform] * _PLAN_M[plan0] * _CHANNEL_M[channel] * np.sqrt(eng)

    # Lifetime: last active day (day index); churn is silence after it.
    stays = rng.random(n) < np.clip(0.5 * m, 0.05, 0.95)
    life_new = np.where(stays, 1 + np.floor(rng.weibull(0.75, n) * 65.0 * m**1.5), 0)
    life_base = np.floor(rng.weibull(0.8, n) * 400.0 * m)
    last_day = np.where(is_base, life_base, d0 + life_new).astype(np.int64)
    q = np.clip(0.40 * eng**0.6 * _PLATFORM_Q[platform], 0.04, 0.9)

    # User-days from (max(signup, 0)) to min(last day, end), then which of them are active.
    first = np.maximum(d0, 0)
    span = np.clip(np.minimum(last_day, DAYS - 1) - first + 1, 0, None)
    uday, pos = _expand(span)
    day = first[uday] + pos
    k = day - d0[uday]
    novelty = np.where(is_base[uday], 1.0, 1.0 + 0.7 * np.exp(-k / 4.0))
    p = q[uday] * _ACTIVE_WEEKDAY[cal.weekday[day]] * cal.season[day] * cal.lift[day] * novelty
    active = (rng.random(len(day)) < np.minimum(p, 0.97)) | ((k == 0) & new[uday])
    au, aday = uday[active], day[active]
    del uday, pos, day, k, novelty, p, active

    # Sessions on active days.
    n_sess = 1 + rng.poisson(0.3 * eng[au] ** 0.7 + 0.2 * (cal.lift[aday] - 1.0))
    sp, _ = _expand(n_sess)
    su, sday = au[sp], aday[sp]
    del au, aday, sp
    ns = len(su)
    hour = np.searchsorted(_HOURLY_CDF, rng.random(ns), side="right")
    sts = sday * _DAY_S + hour * 3600 + rng.integers(0, 3600, ns) - tz_s[su]
    order = np.lexsort((sts, su))
    su, sday, sts = su[order], sday[order], sts[order]
    slen = np.clip(rng.lognormal(math.log(540.0), 0.8, ns), 30.0, 7200.0).astype(np.int64)
    splat = np.where((second[su] >= 0) & (rng.random(ns) < 0.25), second[su], platform[su])
    keys = su * _KEY_SHIFT + (sts + _KEY_OFFSET)
    first_sess = np.searchsorted(su, np.arange(n), side="left")
    fs = np.minimum(first_sess, max(ns - 1, 0))

    rows = _Rows()
    ids = np.arange(n)
    # Sign-up: seconds before the user's first session (new users always have one on day d0).
    first_start = sts[fs] if ns else np.zeros(n, np.int64)  # no sessions: a batch of idle base users
    signup_ts = np.where(new, first_start - rng.integers(1, 40, n), -_NEVER)
    nu = ids[new]
    rows.add(signup_ts[nu], nu, _SIGNUP, splat[fs[nu]])
    dup = nu[rng.random(len(nu)) < 0.006]
    rows.add(
        signup_ts[dup] + rng.lognormal(math.log(6 * 3600), 1.0, len(dup)).astype(np.int64),
        dup,
        _SIGNUP,
        (platform[dup] + 1) % 3,
    )
    browse = nu[rng.random(len(nu)) < _PRESIGNUP_P[channel[nu]]]
    bp, _ = _expand(1 + rng.poisson(1.2, len(browse)))
    bu = browse[bp]
    rows.add(signup_ts[bu] - rng.integers(60, 7200, len(bu)), bu, _PAGE, np.full(len(bu), _WEB))

    # Activation milestones, each in a real session of the user.
    act = _CHANNEL_ACT[channel] * eng**0.3
    t_note = np.where(is_base, -_NEVER, _NEVER)
    t_project = t_note.copy()
    t_invite = t_note.copy()

    def milestone(cands: Arr, prev: Arr, median_h: float, sigma: float) -> tuple[Arr, Arr, Arr]:
        target = prev[cands] + (rng.lognormal(math.log(median_h * 3600), sigma, len(cands))).astype(np.int64)
        idx, ok = _next_session(keys, su, cands, target)
        idx, users = idx[ok], cands[ok]
        return users, sts[idx] + (rng.random(len(idx)) * slen[idx]).astype(np.int64) + 1, idx

    note_c = nu[rng.random(len(nu)) < np.clip(0.68 * act[nu], 0, 0.95)]
    now_c = note_c[rng.random(len(note_c)) < 0.7]
    later_c = np.setdiff1d(note_c, now_c)
    t_note[now_c] = signup_ts[now_c] + 20 + (rng.random(len(now_c)) * slen[fs[now_c]] * 0.8).astype(np.int64)
    rows.add(t_note[now_c], now_c, _NOTE, splat[fs[now_c]])
    users, ts, idx = milestone(later_c, signup_ts, 30.0, 1.0)
    t_note[users] = ts
    rows.add(ts, users, _NOTE, splat[idx])

    noted = nu[t_note[nu] < _NEVER]
    plan_boost = np.array([1.0, 1.0, 1.3])[plan0]
    proj_c = noted[rng.random(len(noted)) < np.clip(0.62 * act[noted] * plan_boost[noted], 0, 0.95)]
    users, ts, idx = milestone(proj_c, t_note, 12.0, 1.1)
    t_project[users] = ts
    rows.add(ts, users, _PROJECT, splat[idx])

    projected = nu[t_project[nu] < _NEVER]
    inv_p = np.array([0.50, 0.40, 0.90])[plan0]
    inv_c = projected[rng.random(len(projected)) < inv_p[projected]]
    users, ts, idx = milestone(inv_c, t_project, 24.0, 1.0)
    t_invite[users] = ts
    rows.add(ts, users, _INVITE, splat[idx])
    invited = t_invite < _NEVER

    # Upgrades: free users convert in a later session; paid sign-ups "upgrade" right away.
    up_ts = np.full(n, _NEVER, np.int64)
    plan_new = plan0.copy()
    direct = nu[plan0[nu] != _FREE]
    up_ts[direct] = signup_ts[direct] + rng.integers(60, 300, len(direct))
    free_new = nu[plan0[nu] == _FREE]
    up_p = 0.06 * eng[free_new] * _CHANNEL_ACT[channel[free_new]] * np.where(invited[free_new], 2.5, 1.0)
    up_p = np.clip(up_p, 0, 0.6)
    up_c = free_new[rng.random(len(free_new)) < up_p]
    users, ts, idx = milestone(up_c, signup_ts, 9 * 24.0, 1.0)
    up_ts[users] = ts
    to_team = (invited[users] & (rng.random(len(users)) < 0.7)) | (rng.random(len(users)) < 0.15)
    plan_new[users] = np.where(to_team, _TEAM, _PRO)
    base_free = ids[is_base & (plan0 == _FREE)]
    bc = base_free[rng.random(len(base_free)) < 0.035]
    target = rng.integers(0, DAYS * _DAY_S, len(bc))
    bidx, ok = _next_session(keys, su, bc, target)
    users_b = bc[ok]
    up_ts[users_b] = sts[bidx[ok]] + (rng.random(int(ok.sum())) * slen[bidx[ok]]).astype(np.int64)
    plan_new[users_b] = np.where(rng.random(len(users_b)) < 0.3, _TEAM, _PRO)
    upgraders = ids[up_ts < _NEVER]
    rows.add(up_ts[upgraders], upgraders, _UPGRADE, np.full(len(upgraders), _WEB))

    # Purchases: at upgrade and every 30 days until a few weeks after the user's last active day.
    seats = np.minimum(2 + rng.geometric(0.18, n), 60)
    price = np.where(plan_new == _TEAM, 8.0 * seats, 12.0)
    sub_end = (last_day + 1) * _DAY_S + rng.exponential(40.0 * _DAY_S, n).astype(np.int64)
    base_paid = ids[is_base & (plan0 != _FREE)]
    first_pay = np.full(n, _NEVER, np.int64)
    first_pay[upgraders] = up_ts[upgraders] + rng.integers(2, 20, len(upgraders))
    first_pay[base_paid] = rng.integers(0, _MONTH_S, len(base_paid))
    payers = ids[first_pay < _NEVER]
    limit = np.minimum(sub_end[payers], cal.cutoff_s)
    n_pay = np.where(first_pay[payers] < limit, 1 + (limit - 1 - first_pay[payers]) // _MONTH_S, 0)
    pp, pk = _expand(np.maximum(n_pay, 0))
    pu = payers[pp]
    rows.add(first_pay[pu] + pk * _MONTH_S, pu, _PURCHASE, np.full(len(pu), _WEB), price[pu])

    # What happens inside sessions.
    rows.add(sts, su, _SESSION, splat)
    n_pv = rng.poisson(2.3, ns)
    ep, _ = _expand(n_pv)
    rows.add(sts[ep] + (rng.random(len(ep)) * slen[ep]).astype(np.int64), su[ep], _PAGE, splat[ep])
    for code, gate, lam in (
        (_NOTE, t_note, 0.6 * eng**0.5),
        (_PROJECT, t_project, np.where(plan_new == _TEAM, 0.10, 0.04)),
        (_INVITE, t_invite, np.where(plan_new == _TEAM, 0.06, 0.02)),
    ):
        cnt = np.where(sts > gate[su], rng.poisson(lam[su]), 0)
        ep, _ = _expand(cnt)
        rows.add(sts[ep] + (rng.random(len(ep)) * slen[ep]).astype(np.int64), su[ep], code, splat[ep])
    adopter = rng.random(n) < 0.55 * np.array([1.1, 1.0, 0.75])[platform]
    affinity = rng.beta(2.0, 2.0, n)
    uses = adopter[su] & (rng.random(ns) < affinity[su] * cal.ai_ramp[sday])
    cnt = np.where(uses, 1 + rng.poisson(0.6, ns), 0)
    ep, _ = _expand(cnt)
    rows.add(sts[ep] + (rng.random(len(ep)) * slen[ep]).astype(np.int64), su[ep], _AI, splat[ep])

    ts, user, event, plat, amount = rows.columns()
    keep = (ts >= 0) & (ts < cal.cutoff_s) & ((event != _AI) | (ts >= cal.launch_day * _DAY_S))
    ts, user, event, plat, amount = ts[keep], user[keep], event[keep], plat[keep], amount[keep]
    plan = np.where(ts >= up_ts[user], plan_new[user], plan0[user]).astype(np.int8)

    # Page load times: lognormal with a long tail; the performance release makes pages faster.
    nr = len(ts)
    after = ts >= cal.perf_day * _DAY_S
    median = _LOAD_MEDIAN[plat] * _COUNTRY_SLOWNESS[country[user]] * np.where(after, 0.7, 1.0)
    tail = rng.random(nr) < np.where(after, 0.025, 0.06)
    load = median * rng.lognormal(0.0, 0.5, nr) * np.where(tail, rng.lognormal(math.log(3.5), 0.6, nr), 1.0)
    load = np.where(event == _PAGE, np.round(load, 1), np.nan)

    # Defects.
    day_of = ts // _DAY_S
    arrived = (day_of != cal.late_day) | (rng.random(nr) < LATE_DAY_KEPT_SHARE)
    idx = np.flatnonzero(arrived)
    hour_start = cal.dup_day * _DAY_S + DUPLICATED_HOUR_UTC * 3600
    again = idx[(ts[idx] >= hour_start) & (ts[idx] < hour_start + 3600)]
    idx = np.concatenate([idx, again])
    micros = rng.integers(0, 1_000_000, nr)
    return {
        "ts_us": (ts * 1_000_000 + micros)[idx] + cal.start_us,
        "user": user[idx],
        "null_user": day_of[idx] == cal.null_day,
        "event": event[idx],
        "platform": plat[idx].astype(np.int8),
        "country": country[user[idx]].astype(np.int8),
        "plan": plan[idx],
        "channel": channel[user[idx]].astype(np.int8),
        "amount": amount[idx],
        "load_ms": load[idx],
    }


_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us")),
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("platform", pa.string()),
        ("country", pa.string()),
        ("plan", pa.string()),
        ("channel", pa.string()),
        ("amount", pa.float64()),
        ("load_ms", pa.float64()),
    ]
)


def _to_arrow(cols: dict[str, Arr], user_ids: pa.Array) -> pa.Table:
    def labels(values: tuple[str, ...], codes: Arr) -> pa.Array:
        return pa.array(values, pa.string()).take(pa.array(codes))

    def nullable(values: Arr) -> pa.Array:
        return pa.array(values, pa.float64(), mask=np.isnan(values))

    return pa.Table.from_arrays(
        [
            pa.array(cols["ts_us"], pa.int64()).cast(pa.timestamp("us")),
            user_ids.take(pa.array(cols["user"], mask=cols["null_user"])),
            labels(EVENTS, cols["event"]),
            labels(PLATFORMS, cols["platform"]),
            labels(COUNTRIES, cols["country"]),
            labels(PLANS, cols["plan"]),
            labels(CHANNELS, cols["channel"]),
            nullable(cols["amount"]),
            nullable(cols["load_ms"]),
        ],
        schema=_SCHEMA,
    )


@dataclasses.dataclass(frozen=True)
class _Population:
    """Every candidate user (pre-year base first, then sign-ups in order) and the batches."""

    d0: Arr  # sign-up day index (negative for the base)
    channel: Arr
    is_base: Arr
    edges: list[int]  # batch b holds users edges[b] .. edges[b+1]-1


def _population(cal: _Calendar, scale: float, seed: int) -> _Population:
    cal_rng = np.random.default_rng([seed, 0])
    counts = _signup_counts(cal, scale, cal_rng)
    n_base = max(1, round(scale * _BASE_USERS_PER_SCALE))
    flat = counts.reshape(-1)
    new_day = np.repeat(np.repeat(np.arange(DAYS), 5), flat)
    new_channel = np.repeat(np.tile(np.arange(5), DAYS), flat)
    base_day = -cal_rng.integers(1, 700, n_base)
    base_channel = _pick(np.cumsum(_BASE_CHANNEL_P)[None, :], np.zeros(n_base, np.int64), cal_rng)
    d0 = np.concatenate([base_day, new_day]).astype(np.int64)
    channel = np.concatenate([base_channel, new_channel]).astype(np.int64)
    is_base = np.arange(len(d0)) < n_base
    # Bound the user-days of a batch (a rough guess of each user's days alive) to keep memory flat.
    weight = np.where(is_base, 320, np.minimum(DAYS - d0, 120))
    per = _MAX_USER_DAYS_PER_BATCH
    bounds = np.searchsorted(np.cumsum(weight), np.arange(1, 1 + int(weight.sum()) // per) * per)
    edges = [0, *sorted({int(b) for b in bounds if 0 < b < len(d0)}), len(d0)]
    return _Population(d0=d0, channel=channel, is_base=is_base, edges=edges)


def _batches(cal: _Calendar, pop: _Population, seed: int) -> Iterator[tuple[int, int, dict[str, Arr]]]:
    """(first user, end user, rows) per batch; the same every time for the same inputs."""
    for i, (a, b) in enumerate(itertools.pairwise(pop.edges)):
        rng = np.random.default_rng([seed, 1, i])
        yield a, b, _batch(cal, rng, pop.d0[a:b], pop.channel[a:b], pop.is_base[a:b])


def _keep_users(cal: _Calendar, pop: _Population, seed: int, events: int) -> Arr:
    """Which candidate users to keep so that the rows come to `events`.

    A first pass counts each user's rows; users are then kept in a random order while their rows
    fit in the target. Dropping whole users at random keeps every distribution and every user's
    story intact while the row count lands just under the target (within 0.1% unless the
    candidates run out, when all are kept).
    """
    n = len(pop.d0)
    per_user = np.zeros(n, np.int64)
    for a, b, cols in _batches(cal, pop, seed):
        per_user[a:b] = np.bincount(cols["user"], minlength=b - a)
    order = np.random.default_rng([seed, 2]).permutation(n)
    reached = np.cumsum(per_user[order])
    take = int(np.searchsorted(reached, events, side="right"))  # users that fit entirely
    keep = np.zeros(n, bool)
    keep[order[:take]] = True
    # Fill the rest with the next users (in the same random order) that still fit, so that one
    # very active user cannot overshoot a small target.
    gap = events - (int(reached[take - 1]) if take else 0)
    for user in order[take:].tolist():
        if gap <= events // 1000:
            break
        if per_user[user] <= gap:
            keep[user] = True
            gap -= int(per_user[user])
    return keep


def _keep_duplicated_hour(cal: _Calendar, cols: dict[str, Arr]) -> dict[str, Arr]:
    """A batch's kept rows, with the duplicated-hour defect always present: in a demo small enough
    that no kept user had an event in that hour of that day, the rows of the day's nearest hour with
    events are loaded twice instead (a demo of any size plants all three defects)."""
    secs = (cols["ts_us"] - cal.start_us) // 1_000_000
    day_start = cal.dup_day * _DAY_S
    on_day = np.flatnonzero((secs >= day_start) & (secs < day_start + _DAY_S))
    hours = (secs[on_day] - day_start) // 3600
    if not on_day.size or (hours == DUPLICATED_HOUR_UTC).any():  # none that day, or duplicated already
        return cols
    nearest = hours[np.argmin(np.abs(hours - DUPLICATED_HOUR_UTC))]
    again = np.concatenate([np.arange(len(secs)), on_day[hours == nearest]])
    return {name: values[again] for name, values in cols.items()}


def generate_demo(
    out_dir: pathlib.Path, *, events: int = 1_000_000, seed: int = 7, end: dt.date | None = None
) -> DemoSummary:
    """Write `out_dir/events.parquet`: about `events` rows of Acme Notes over the 365 days ending on `end`."""
    began = time.perf_counter()
    now = clock.now()  # the demo's days are UTC days
    if events < 1:
        raise ValueError(f"events must be positive, got {events}")
    if end is None:
        end = now.date()
    if end > now.date():
        pinned = f", pinned by {clock.TODAY_VARIABLE}" if clock.pinned_day() else ""
        raise ValueError(f"end {end} is in the future (today is {now.date()} UTC{pinned})")
    cal = _calendar(end, now)
    # Candidate users beyond the target (more for small targets, whose totals vary more); see _keep_users.
    oversample = 1.15 + 1.0 / math.sqrt(events / 10_000)
    pop = _population(cal, oversample * events / _ROWS_PER_SCALE, seed)
    keep = _keep_users(cal, pop, seed, events)
    new_id = np.cumsum(keep) - 1
    width = max(6, len(str(max(int(new_id[-1]), 0))))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "events.parquet"
    tmp = out_dir / f".events.parquet.{os.getpid()}.tmp"
    rows = 0
    try:
        with pq.ParquetWriter(tmp, _SCHEMA, compression="zstd") as writer:
            pending: list[pa.Table] = []
            pending_rows = 0
            for a, b, cols in _batches(cal, pop, seed):
                kept = keep[a:b]
                local = np.cumsum(kept) - 1
                row_kept = kept[cols["user"]]
                cols = {name: values[row_kept] for name, values in cols.items()}
                cols["user"] = local[cols["user"]]
                cols = _keep_duplicated_hour(cal, cols)
                names = [f"u{g:0{width}d}" for g in new_id[a:b][kept].tolist()]
                table = _to_arrow(cols, pa.array(names, pa.string()))
                pending.append(table)
                pending_rows += table.num_rows
                if pending_rows >= _ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=4 * _ROW_GROUP_ROWS)
                    rows += pending_rows
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=4 * _ROW_GROUP_ROWS)
                rows += pending_rows
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

    def day(index: int) -> dt.date:
        return cal.start + dt.timedelta(days=index)

    return DemoSummary(
        path=path,
        rows=rows,
        start=cal.start,
        end=end,
        seconds=time.perf_counter() - began,
        defects={
            "null_user_day": day(cal.null_day),
            "duplicated_hour": day(cal.dup_day),
            "late_day": day(cal.late_day),
        },
        launches={
            "ai_summary": day(cal.launch_day),
            "performance_release": day(cal.perf_day),
        },
    )


def ensure_demo(root: pathlib.Path) -> pathlib.Path:
    """`root/data/demo/events.parquet`, generated with the defaults when it is missing."""
    path = pathlib.Path(root) / "data" / "demo" / "events.parquet"
    if not path.exists():
        generate_demo(path.parent)
    return path
