#!/usr/bin/env python3
"""Generate the messy-meter-data corpus for Kilowatch (`kilowatch import` + `kilowatch report pue`).

Run:  python3 tests/data/meter-corpus/gen.py

Writes, into this script's own directory: NAME.csv and NAME.toml for every case, cases.json and
README.md. Python 3 standard library only; no randomness, so every run writes the same bytes.

Every expected number is computed from this script's own model of true consumption (below),
never from Kilowatch:

    facility  P_f(t) = 150 + 20 sin(2 pi h / 24)       + 15 sin(2 pi h / 168 + 0.3)
                           + 10 sin(2 pi h / 8766 + 1.1)                                kW
    IT        P_i(t) = 100 + 10 sin(2 pi h / 24 + 1)   +  8 sin(2 pi h / 168 + 1.7)
                           +  6 sin(2 pi h / 8766 + 2.3)                                kW
    cooling   P_c(t) =  35 + 10 sin(2 pi h / 24 + 2)   +  5 sin(2 pi h / 168 + 0.9)    kW

h = hours since 2020-01-01T00:00Z, so the model is one continuous function across all cases.
Besides the daily sine, a weekly (168 h) and, for facility and IT, a yearly (8766 h) sine make the
energy of a whole-day window depend on where the window sits, so a window shifted by whole hours
(e.g. resolved in the wrong time zone) changes the totals. Every power stays positive (the mean
exceeds the sum of the amplitudes). Energy over [t0, t1] is the analytic integral. Each expected
number is checked against an independent composite-Simpson sum of the model at 1-minute steps (relative 1e-9), and the written
CSV is re-read and checked against the expected numbers (counter differences / trapezoid sums of
power after undoing the known pathology) to within the printing resolution.
"""

import csv
import json
import math
import os
import sys
from datetime import date, datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)

# role -> (mean kW, ((amplitude kW, period h, phase rad), ...))
MODEL = {
    "facility": (150.0, ((20.0, 24.0, 0.0), (15.0, 168.0, 0.3), (10.0, 8766.0, 1.1))),
    "it": (100.0, ((10.0, 24.0, 1.0), (8.0, 168.0, 1.7), (6.0, 8766.0, 2.3))),
    "cooling": (35.0, ((10.0, 24.0, 2.0), (5.0, 168.0, 0.9))),
}
for _role, (_a, _terms) in MODEL.items():
    assert _a - sum(abs(b) for b, _, _ in _terms) > 0, _role  # power is positive everywhere


def model_text(role):
    a, terms = MODEL[role]
    out = f"{a:g}"
    for b, T, phi in terms:
        out += f" + {b:g} sin(2 pi h/{T:g}" + (f" + {phi:g})" if phi else ")")
    return out + " kW"

HOUR = 3600
MINUTE = 60
DAY = 86400


# ---------------------------------------------------------------- time --------------------------

def sec(y, mo, d, hh=0, mm=0, ss=0):
    """Seconds since EPOCH of a UTC instant (integers throughout, so no time drifts)."""
    dt = datetime(y, mo, d, hh, mm, ss, tzinfo=timezone.utc)
    return int((dt - EPOCH).total_seconds())


def rfc3339(s):
    return (EPOCH + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    dt = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int((dt - EPOCH).total_seconds())


def last_sunday(y, mo):
    d = date(y, mo + 1, 1) - timedelta(days=1) if mo < 12 else date(y, 12, 31)
    while d.weekday() != 6:
        d -= timedelta(days=1)
    return d


def utc_offset_at_local_midnight(tz, d):
    """Offset (seconds) in force at local midnight of date d, by the zones' own rules.

    Europe/London: BST (+1h) from the last Sunday of March 01:00Z to the last Sunday of October
    01:00Z; both changes happen after local midnight, so midnight is never skipped or repeated.
    Asia/Hong_Kong: +8h, no DST since 1979. UTC: 0.
    """
    if tz == "UTC":
        return 0
    if tz == "Asia/Hong_Kong":
        return 8 * HOUR
    if tz == "Europe/London":
        bst = last_sunday(d.year, 3) < d <= last_sunday(d.year, 10)
        return HOUR if bst else 0
    raise ValueError(tz)


def local_midnight(tz, d):
    """UTC seconds of the first instant of local date d in zone tz."""
    return sec(d.year, d.month, d.day) - utc_offset_at_local_midnight(tz, d)


def local_date(tz, s):
    """The site-local date of the instant s."""
    d = (EPOCH + timedelta(seconds=s)).date() - timedelta(days=1)
    while not (local_midnight(tz, d) <= s < local_midnight(tz, d + timedelta(days=1))):
        d += timedelta(days=1)
    return d


def check_zone_rules(tz, days):
    """Cross-check the hand-written zone rules with the system tz database when it is present."""
    try:
        from zoneinfo import ZoneInfo
        zi = ZoneInfo(tz)
    except Exception:  # no tzdata on this machine: the hand-written rules stand alone
        return
    for d in days:
        ref = datetime(d.year, d.month, d.day, tzinfo=zi).astimezone(timezone.utc)
        assert int((ref - EPOCH).total_seconds()) == local_midnight(tz, d), (tz, d)


def resolve_window(tz, args):
    """The [from, to) window of `report pue` args, resolved in the site's zone."""
    a = dict(zip(args[0::2], args[1::2]))
    if "--year" in a:
        y = int(a["--year"])
        return local_midnight(tz, date(y, 1, 1)), local_midnight(tz, date(y + 1, 1, 1))

    def one(v):
        if "T" in v:
            return parse_rfc3339(v)
        return local_midnight(tz, date.fromisoformat(v))

    return one(a["--from"]), one(a["--to"])


# ---------------------------------------------------------------- model -------------------------

def power_kw(role, s):
    a, terms = MODEL[role]
    h = s / HOUR
    return a + math.fsum(b * math.sin(2.0 * math.pi * h / T + phi) for b, T, phi in terms)


def energy_kwh(role, s0, s1):
    """Analytic integral of the model over [s0, s1] (seconds since EPOCH), in kWh.

    Each term b sin(w h + phi) integrates to (b / w) (cos(w h0 + phi) - cos(w h1 + phi)), written as
    (2 b / w) sin(w (h0 + h1) / 2 + phi) sin(w (h1 - h0) / 2) so the long periods lose no digits."""
    a, terms = MODEL[role]
    h0, h1 = s0 / HOUR, s1 / HOUR
    out = [a * (s1 - s0) / HOUR]
    for b, T, phi in terms:
        w = 2.0 * math.pi / T
        out.append((2.0 * b / w) * math.sin(w * (h0 + h1) / 2.0 + phi) * math.sin(w * (h1 - h0) / 2.0))
    return math.fsum(out)


def simpson_kwh(role, s0, s1):
    """Independent check: composite Simpson sum of the model at 1-minute (or 30 s) steps."""
    step = MINUTE
    if (s1 - s0) % (2 * MINUTE):
        step = 30
    assert (s1 - s0) % (2 * step) == 0, (s0, s1)
    n = (s1 - s0) // step
    terms = [power_kw(role, s0), power_kw(role, s1)]
    for k in range(1, n):
        terms.append((4.0 if k % 2 else 2.0) * power_kw(role, s0 + k * step))
    return math.fsum(terms) * (step / HOUR) / 3.0


def true_energy(role, s0, s1):
    e = energy_kwh(role, s0, s1)
    n = simpson_kwh(role, s0, s1)
    assert abs(e - n) <= 1e-9 * abs(e), (role, s0, s1, e, n)
    return e


# ---------------------------------------------------------------- case building -----------------

class Device:
    def __init__(self, id, role, unit, category=None, max_power_w=None, c0=None):
        self.id, self.role, self.unit = id, role, unit
        self.category, self.max_power_w = category, max_power_w
        self.c0 = c0

    def toml(self):
        out = ["[[devices]]", f'id = "{self.id}"', 'site = "c1"', 'profile = "eastron-sdm630"',
               f'address = "modbus://127.0.0.1:1/{self.unit}"', f'role = "{self.role}"']
        if self.category is not None:
            out.append(f"category = {self.category}")
        if self.max_power_w is not None:
            out.append(f"max_power_w = {self.max_power_w}")
        return "\n".join(out) + "\n"


def std_devices(main_c0=120000.0, it_c0=80000.0, **main_kw):
    return [Device("main", "facility", 1, c0=main_c0, **main_kw),
            Device("it", "it", 2, category=3, c0=it_c0)]


def fmt3(v):
    return f"{v:.3f}"


def fmt1(v):
    return f"{v:.1f}"


def fmt_w(v):
    return f"{v:.2f}"


class Case:
    def __init__(self, name, what, how, tz="UTC", devices=None, category=3):
        self.name, self.what, self.how, self.tz = name, what, how, tz
        self.devices = devices or std_devices()
        self.category = category
        self.rows = []  # (seconds, device, field, value text), in file order
        self.events = []
        self.import_expect = {"duplicates": 0, "out_of_order": 0}
        self.daily = None
        self.days = None
        self.args = None
        self.origin = None  # each counter reads its c0 at this instant
        self.facility_override = None
        self.checks = []  # file checks: (device, kind, params)
        self.notes = []
        self.hidden = None  # reset/spike cases: the [a, b] interval the analyzer must estimate

    def dev(self, id):
        return next(d for d in self.devices if d.id == id)

    def counter(self, dev, s):
        """True counter reading of a device at s."""
        return dev.c0 + energy_kwh(dev.role, self.origin, s)

    def add_counter_rows(self, dev_id, times, value=None, fmt=fmt3):
        """Counter rows at `times`; `value(s, true_reading)` may replace the reading (None drops it)."""
        dev = self.dev(dev_id)
        for s in times:
            v = self.counter(dev, s)
            if value is not None:
                v = value(s, v)
            if v is None:
                continue
            self.rows.append((s, dev_id, "energy_kwh", v if isinstance(v, str) else fmt(v)))

    def add_power_rows(self, dev_id, times, value=None):
        dev = self.dev(dev_id)
        for s in times:
            v = power_kw(dev.role, s) * 1000.0
            if value is not None:
                v = value(s, v)
            if v is None:
                continue
            self.rows.append((s, dev_id, "active_power_w", fmt_w(v)))

    def sort_rows(self):
        order = {d.id: i for i, d in enumerate(self.devices)}
        self.rows.sort(key=lambda r: (r[0], order[r[1]]))

    def span_args(self):
        lo = min(r[0] for r in self.rows)
        hi = max(r[0] for r in self.rows)
        return ["--from", rfc3339(lo), "--to", rfc3339(hi)]


ZONE_LIMIT = 1e-3  # leap_day: the UTC-resolved window must be this far off the expected facility energy
ESTIMATE_LIMIT = 5e-4  # the analyzer's estimate of a hidden interval must be within 0.05 % of the window


def estimate_note(c, s0, s1, fk):
    """How far the analyzer's estimate of the case's hidden interval [a, b] (the step a reset or spike
    hides) is from its truth: the estimate is the mean of the rates of the step just before, [a-L, a],
    and the step just after, [b, b+L], times L = b - a. The miss is reported relative to the truth over
    the case's window and must stay under ESTIMATE_LIMIT."""
    a, b = c.hidden
    L = b - a
    assert s0 <= a - L and b + L <= s1, c.name
    true = energy_kwh("facility", a, b)
    prev = energy_kwh("facility", a - L, a)
    nxt = energy_kwh("facility", b, b + L)
    est = (prev / L + nxt / L) / 2 * L
    rel = (est - true) / fk
    assert abs(rel) < ESTIMATE_LIMIT, (c.name, rel)
    c.estimate_rel = rel
    ka, kb = (a - W7) // HOUR, (b - W7) // HOUR
    return (f"the estimated hour {ka}-{kb} ({rfc3339(a)} to {rfc3339(b)}) truly holds {true:.3f} kWh; the "
            f"analyzer's estimate, the mean of the rates of the steps {ka - 1}-{ka} ({prev:.3f} kWh) and "
            f"{kb}-{kb + 1} ({nxt:.3f} kWh) over the same hour, is {est:.3f} kWh, off by {est - true:+.3f} kWh = "
            f"{rel * 100:+.4f} % of the window's {fk:.3f} kWh (limit {ESTIMATE_LIMIT * 100:g} %); the previous "
            f"hour alone would be off by {prev - true:+.3f} kWh.")


def hourly(start, hours):
    return [start + k * HOUR for k in range(hours + 1)]


W7 = sec(2025, 3, 3)  # the 7-day cases: 2025-03-03T00Z .. 2025-03-10T00Z, 169 hourly readings
H = lambda k: W7 + k * HOUR  # noqa: E731


def seven_day(name, what, how, **kw):
    c = Case(name, what, how, devices=kw.pop("devices", None))
    c.origin = W7
    return c


# ---------------------------------------------------------------- the cases ---------------------

def build_cases():
    cases = []

    # 1 spike_up
    c = seven_day("spike_up", "main's counter reading at hour 50 is multiplied by 1000, then the series resumes",
                  "Truth over the 7-day window; the bad reading is one point of a continuous counter, so "
                  "dropping it and bridging hour 49 to 51 loses nothing.")
    bad = H(50)
    c.add_counter_rows("main", hourly(W7, 168), lambda s, v: v * 1000 if s == bad else v)
    c.add_counter_rows("it", hourly(W7, 168))
    c.events = [("main", "glitch", 1)]
    c.checks = [("main", "counter", {"drop": {bad}})]
    cases.append(c)

    # 2 spike_down
    c = seven_day("spike_down", "main's counter reading at hour 60 is divided by 1000, then the series resumes",
                  "Truth over the 7-day window; as spike_up, a single dropped point of a continuous counter.")
    bad = H(60)
    c.add_counter_rows("main", hourly(W7, 168), lambda s, v: v / 1000 if s == bad else v)
    c.add_counter_rows("it", hourly(W7, 168))
    c.events = [("main", "glitch", 1)]
    c.checks = [("main", "counter", {"drop": {bad}})]
    cases.append(c)

    # 3 stuck
    c = Case("stuck", "15-minute counters for 3 days; main repeats one reading for the next 24 readings "
                      "(6 h) and then catches up to the true value",
             "Truth over the 3-day window. The counter is right again after the catch-up, so the window "
             "total is exact; only the split of energy inside the 6 stuck hours needs estimating.")
    c.origin = W7
    q = [W7 + k * 15 * MINUTE for k in range(3 * 96 + 1)]
    k0 = 100  # reading 100 (hour 25:00) is true; readings 101..124 repeat it; 125 is true again
    stuck_times = set(q[k0 + 1:k0 + 25])
    held = c.counter(c.dev("main"), q[k0])
    c.add_counter_rows("main", q, lambda s, v: held if s in stuck_times else v)
    c.add_counter_rows("it", q)
    c.events = [("main", "stuck", 1)]
    c.checks = [("main", "counter", {"drop": stuck_times})]
    c.notes.append(f"main reads {held:.3f} from {rfc3339(q[k0])} through {rfc3339(q[k0 + 24])}; "
                   f"true again at {rfc3339(q[k0 + 25])}.")
    cases.append(c)

    # 4 swap_to_zero, 5 swap_nonzero
    for name, start_val in (("swap_to_zero", 0.0), ("swap_nonzero", 523.4)):
        c = seven_day(name, f"main's meter is replaced at hour 80:30 by a new one that counts from {start_val} kWh "
                            "at the swap",
                      "Truth over the 7-day window (consumption is continuous across the swap). The hour "
                      "80-81 straddles the swap and must be estimated, so a correct tool is off by that "
                      "estimate's error only (see Detail).")
        swap = H(80) + 30 * MINUTE
        main = c.dev("main")
        c.add_counter_rows("main", hourly(W7, 168),
                           lambda s, v, sv=start_val, sw=swap: v if s < sw else sv + energy_kwh("facility", sw, s))
        c.add_counter_rows("it", hourly(W7, 168))
        c.events = [("main", "reset", 1)]
        old_at_swap = c.counter(main, swap)
        c.checks = [("main", "counter", {"offsets": [(swap, old_at_swap - start_val)]})]
        c.notes.append(f"old meter at the swap (not in the file): {old_at_swap:.3f} kWh; "
                       f"last old reading {rfc3339(H(80))}, first new reading {rfc3339(H(81))}.")
        c.hidden = (H(80), H(81))
        cases.append(c)

    # 6 wrap16
    c = seven_day("wrap16", "main is a 16-bit register of 0.1 kWh starting at raw 60000: it wraps at 6553.6 kWh",
                  "Truth over the 7-day window. Readings are quantised to 0.1 kWh, so the readings' own "
                  "difference (with the wraps added back) is within 0.1 kWh of the truth.",
                  devices=std_devices(main_c0=6000.0))
    raws = {}

    def wrap16(s, v):
        raw = int(round(v * 10))
        raws[s] = raw
        return fmt1((raw % 65536) * 0.1)

    c.add_counter_rows("main", hourly(W7, 168), wrap16)
    c.add_counter_rows("it", hourly(W7, 168))
    ts = sorted(raws)
    assert raws[ts[0]] == 60000
    nwrap = sum(1 for a, b in zip(ts, ts[1:]) if raws[b] % 65536 < raws[a] % 65536)
    assert nwrap == raws[ts[-1]] // 65536 - raws[ts[0]] // 65536
    c.events = [("main", "wrap", nwrap)]
    c.checks = [("main", "counter", {"modulus": 6553.6, "tol": 0.1})]
    wrap_hours = [(a - W7) // HOUR for a, b in zip(ts, ts[1:]) if raws[b] % 65536 < raws[a] % 65536]
    c.notes.append(f"{nwrap} wraps, in the hours starting at hour {', '.join(map(str, wrap_hours))} "
                   f"(raw {raws[ts[0]]} .. {raws[ts[-1]]}).")
    cases.append(c)

    # 7 wrap32
    c0_wh = 2 ** 32 - 1_000_000
    c = seven_day("wrap32", "main is a Counter32 of Wh starting 1,000,000 Wh below 2^32: it wraps once",
                  "Truth over the 7-day window. Readings are whole Wh; modulus 4294967.296 kWh.",
                  devices=std_devices(main_c0=c0_wh / 1000.0))
    whs = {}

    def wrap32(s, v):
        wh = c0_wh + int(round(energy_kwh("facility", W7, s) * 1000))
        whs[s] = wh
        return fmt3((wh % 2 ** 32) / 1000)

    c.add_counter_rows("main", hourly(W7, 168), wrap32)
    c.add_counter_rows("it", hourly(W7, 168))
    ts = sorted(whs)
    nwrap = sum(1 for a, b in zip(ts, ts[1:]) if whs[b] % 2 ** 32 < whs[a] % 2 ** 32)
    assert nwrap == 1
    wrap_hour = next((a - W7) // HOUR for a, b in zip(ts, ts[1:]) if whs[b] % 2 ** 32 < whs[a] % 2 ** 32)
    assert 2 <= wrap_hour <= 160
    c.events = [("main", "wrap", 1)]
    c.checks = [("main", "counter", {"modulus": 2 ** 32 / 1000, "tol": 0.002})]
    c.notes.append(f"the wrap falls in the hour starting at hour {wrap_hour}.")
    cases.append(c)

    # 8 word_swap
    c = seven_day("word_swap", "main is a u32 of 0.1 kWh; at hour 70 its two 16-bit words come swapped",
                  "Truth over the 7-day window; the swapped reading is a one-point glitch (readings are "
                  "quantised to 0.1 kWh, so the readings' own difference is within 0.1 kWh of the truth).")
    bad = H(70)
    info = {}

    def word_swap(s, v):
        raw = int(round(v * 10))
        if s == bad:
            hi, lo = raw >> 16, raw & 0xFFFF
            assert hi != 0 and lo != 0 and raw < 2 ** 32
            swapped = (lo << 16) | hi
            info.update(raw=raw, swapped=swapped)
            raw = swapped
        return fmt1(raw * 0.1)

    c.add_counter_rows("main", hourly(W7, 168), word_swap)
    c.add_counter_rows("it", hourly(W7, 168))
    c.events = [("main", "glitch", 1)]
    c.checks = [("main", "counter", {"drop": {bad}, "tol": 0.1})]
    c.notes.append(f"true raw 0x{info['raw']:08X} ({info['raw'] / 10:.1f} kWh) is read as 0x{info['swapped']:08X} "
                   f"({info['swapped'] / 10:.1f} kWh).")
    cases.append(c)

    # 9 duplicates
    c = seven_day("duplicates", "20 rows (10 of main, 10 of it) appear twice, the identical copy right after the original",
                  "Truth over the 7-day window; the import drops the 20 exact copies.")
    c.add_counter_rows("main", hourly(W7, 168))
    c.add_counter_rows("it", hourly(W7, 168))
    c.sort_rows()
    dup = {("main", H(10 + 15 * k)) for k in range(10)} | {("it", H(17 + 15 * k)) for k in range(10)}
    rows = []
    for r in c.rows:
        rows.append(r)
        if (r[1], r[0]) in dup:
            rows.append(r)
    c.rows = rows
    c.import_expect = {"duplicates": 20, "out_of_order": 0}
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    c.sorted = True
    cases.append(c)

    # 10 out_of_order
    c = seven_day("out_of_order", "the file's rows come in a scrambled order: every block of 24 rows is reversed",
                  "Truth over the 7-day window; the import sorts. out_of_order is counted by its definition: rows "
                  "whose time is earlier than the previous row of the same device and field in the file.")
    c.add_counter_rows("main", hourly(W7, 168))
    c.add_counter_rows("it", hourly(W7, 168))
    c.sort_rows()
    rows = []
    for i in range(0, len(c.rows), 24):
        rows.extend(reversed(c.rows[i:i + 24]))
    c.rows = rows
    c.import_expect = {"duplicates": 0, "out_of_order": None}  # filled in from the file below
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    c.sorted = True
    cases.append(c)

    # 11 dst_spring
    c = Case("dst_spring", "Europe/London site around the spring change (2025-03-30 has 23 h); local-date window",
             "Window = site-local midnights 2025-03-29 00:00 GMT (00:00Z) to 2025-04-01 00:00 BST (2025-03-31T23:00Z), "
             "71 h; each daily row is the truth over its own local midnights.", tz="Europe/London")
    s0 = sec(2025, 3, 28)
    c.origin = s0
    c.add_counter_rows("main", hourly(s0, 96))
    c.add_counter_rows("it", hourly(s0, 96))
    c.args = ["--from", "2025-03-29", "--to", "2025-04-01"]
    c.daily = [date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)]
    c.days = 3
    c.expect_hours = {date(2025, 3, 29): 24, date(2025, 3, 30): 23, date(2025, 3, 31): 24}
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    # 12 dst_autumn
    c = Case("dst_autumn", "Europe/London site around the autumn change (2025-10-26 has 25 h); local-date window",
             "Window = site-local midnights 2025-10-25 00:00 BST (2025-10-24T23:00Z) to 2025-10-28 00:00 GMT "
             "(00:00Z), 73 h; each daily row is the truth over its own local midnights.", tz="Europe/London")
    s0 = sec(2025, 10, 24)
    c.origin = s0
    c.add_counter_rows("main", hourly(s0, 120))
    c.add_counter_rows("it", hourly(s0, 120))
    c.args = ["--from", "2025-10-25", "--to", "2025-10-28"]
    c.daily = [date(2025, 10, 25), date(2025, 10, 26), date(2025, 10, 27)]
    c.days = 3
    c.expect_hours = {date(2025, 10, 25): 24, date(2025, 10, 26): 25, date(2025, 10, 27): 24}
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    # 13 leap_day
    c = Case("leap_day", "Asia/Hong_Kong site over 2024-02-29; local-date window",
             "Window = HK midnights 2024-02-28 00:00+08 (2024-02-27T16:00Z) to 2024-03-02 00:00+08 "
             "(2024-03-01T16:00Z), 72 h; each daily row is the truth over its own HK midnights.",
             tz="Asia/Hong_Kong")
    s0 = sec(2024, 2, 27)
    c.origin = s0
    c.add_counter_rows("main", hourly(s0, 120))
    c.add_counter_rows("it", hourly(s0, 120))
    c.args = ["--from", "2024-02-28", "--to", "2024-03-02"]
    c.daily = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
    c.days = 3
    c.expect_hours = {d: 24 for d in c.daily}
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    # 14 clock_back
    c = seven_day("clock_back", "main's logger clock steps back 30 min at hour 100 (15-minute readings): two stamps "
                                "repeat, and every later stamp is 30 min early",
                  "The import keeps the later row of a repeated stamp, so the stored series is the true counter "
                  "shifted 30 min early from 99:30 on. facility_kwh = kept reading at the window's end stamp "
                  "minus kept reading at its start stamp = true energy from 00:00 to 168:30 (168.5 h). it_kwh is "
                  "the truth over the window. A counter series cannot show a clock step (the stamps stay "
                  "increasing after the import's dedup; only the interval 99:15-99:30 holds 45 min of energy, "
                  "3x its neighbours), so the analyzer reports no event: the import's duplicate (and "
                  "out-of-order) counts are what names it.")
    step_true = H(100)
    shift = 30 * MINUTE
    # main reads every 15 min of true time up to true 168:30, so its last stamp is the window's end.
    true_q = [W7 + k * 15 * MINUTE for k in range(168 * 4 + 2 + 1)]
    main = c.dev("main")
    for s in true_q:
        stamp = s - shift if s >= step_true else s
        c.rows.append((s, "main", "energy_kwh", fmt3(c.counter(main, s)), stamp))
    for s in hourly(W7, 168):
        c.rows.append((s, "it", "energy_kwh", fmt3(c.counter(c.dev("it"), s)), s))
    order = {"main": 0, "it": 1}
    c.rows.sort(key=lambda r: (r[0], order[r[1]]))  # logged order (true time)
    c.rows = [(r[4], r[1], r[2], r[3]) for r in c.rows]  # written with the logger's stamps
    c.args = ["--from", rfc3339(W7), "--to", rfc3339(H(168))]
    # what the import keeps at each main stamp: the later row in the file (logged order)
    kept = {}
    for s in true_q:
        kept[s - shift if s >= step_true else s] = s
    assert kept[W7] == W7 and kept[H(168)] == H(168) + shift
    assert kept[step_true - shift] == step_true and kept[step_true - 15 * MINUTE] == step_true + 15 * MINUTE
    c.facility_override = (W7, H(168) + shift)
    c.import_expect = {"duplicates": 2, "out_of_order": 1}
    c.checks = [("main", "counter_kept", {}), ("it", "counter", {})]
    c.sorted = True
    c.notes.append("main's file rows at stamps 2025-03-07T03:30Z and 03:45Z appear twice: first the true "
                   "readings, then (after 03:45Z) the readings truly taken at 04:00Z and 04:15Z.")
    cases.append(c)

    # 15 gap_minutes
    d0 = sec(2025, 3, 5)
    c = Case("gap_minutes", "1-minute active_power_w for one day; 12 consecutive minutes of main missing from 10:00",
             "Truth = analytic integral of the model over the day (00:00Z to 24:00Z, 1441 readings each). "
             "The trapezoid over 1-minute readings and a linear bridge over the 13-minute interval "
             "09:59-10:12 are both well within 0.01 %.")
    c.origin = d0
    minutes = [d0 + k * MINUTE for k in range(1441)]
    missing = {d0 + 10 * HOUR + k * MINUTE for k in range(12)}
    c.add_power_rows("main", minutes, lambda s, v: None if s in missing else v)
    c.add_power_rows("it", minutes)
    c.events = [("main", "gap", 1)]
    c.checks = [("main", "power", {}), ("it", "power", {})]
    cases.append(c)

    # 16 gap_days
    c = Case("gap_days", "hourly counters for 10 days; main has no rows at all on 2025-03-06, 07 and 08",
             "Truth over the 10-day window; the counter runs on through the gap (2025-03-05T23:00Z to "
             "2025-03-09T00:00Z, 73 h), so the window total is exact.")
    c.origin = W7
    c.add_counter_rows("main", hourly(W7, 240),
                       lambda s, v: None if sec(2025, 3, 6) <= s < sec(2025, 3, 9) else v)
    c.add_counter_rows("it", hourly(W7, 240))
    c.events = [("main", "gap", 1)]
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    # 17 mixed_cadence
    c = Case("mixed_cadence", "hourly counter rows for 3 days, then 1-minute counter rows for the 4th day (both meters)",
             "Truth over the 4-day window (same counters throughout; no event).")
    c.origin = W7
    times = hourly(W7, 72) + [W7 + 72 * HOUR + k * MINUTE for k in range(1, 1441)]
    c.add_counter_rows("main", times)
    c.add_counter_rows("it", times)
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    # 18 power_spike
    d0 = sec(2025, 3, 6)
    c = Case("power_spike", "1-minute active_power_w for one day; main's reading at 13:37 is multiplied by 1000",
             "Truth = analytic integral of the model over the day (00:00Z to 24:00Z); the bad reading is "
             "dropped and bridged from its neighbours.")
    c.origin = d0
    minutes = [d0 + k * MINUTE for k in range(1441)]
    bad = d0 + 13 * HOUR + 37 * MINUTE
    c.add_power_rows("main", minutes, lambda s, v: v * 1000 if s == bad else v)
    c.add_power_rows("it", minutes)
    c.events = [("main", "glitch", 1)]
    c.checks = [("main", "power", {"drop": {bad}}), ("it", "power", {})]
    cases.append(c)

    # 19 jump_up
    c = seven_day("jump_up", "from hour 90 on main reads 50000 kWh more than the truth and carries on (a swap to a "
                             "meter with a higher reading)",
                  "Truth over the 7-day window; the step into hour 90 is rejected and the hour 89-90 "
                  "estimated from its neighbours (see Detail).")
    c.add_counter_rows("main", hourly(W7, 168), lambda s, v: v + 50000 if s >= H(90) else v)
    c.add_counter_rows("it", hourly(W7, 168))
    c.events = [("main", "spike", 1)]
    c.checks = [("main", "counter", {"offsets": [(H(90), -50000.0)]})]
    c.hidden = (H(89), H(90))
    cases.append(c)

    # 20 rated_spike
    step = energy_kwh("facility", H(39), H(40)) + 1000
    c = seven_day("rated_spike", "main (max_power_w = 400000) reads 1000 kWh more than the truth from hour 40 on: "
                                 f"an hour of about {step:.0f} kWh on a 400 kW meter",
                  "Truth over the 7-day window; the step into hour 40 exceeds the meter's rating, is rejected, "
                  "and the hour 39-40 is estimated.",
                  devices=std_devices(max_power_w=400000))
    c.add_counter_rows("main", hourly(W7, 168), lambda s, v: v + 1000 if s >= H(40) else v)
    c.add_counter_rows("it", hourly(W7, 168))
    c.events = [("main", "spike", 1)]
    c.checks = [("main", "counter", {"offsets": [(H(40), -1000.0)]})]
    assert step > 400.0  # more than 400 kW for an hour
    c.notes.append(f"the hour 39-40 reads {step:.3f} kWh (true {step - 1000:.3f}).")
    c.hidden = (H(39), H(40))
    cases.append(c)

    # 21 year_glitches
    y0 = sec(2024, 12, 31, 16)
    devs = [Device("main", "facility", 1, c0=120000.0),
            Device("ups", "it", 2, category=1, c0=80000.0),
            Device("crac", "cooling", 3, c0=30000.0)]
    c = Case("year_glitches", "Hong Kong year 2025, three meters, one glitch each: main x1000, ups /1000, crac +5000 kWh "
                              "(each for one reading)",
             "Window = HK year 2025 (2024-12-31T16:00Z to 2025-12-31T16:00Z); facility = main's truth, "
             "it = ups's truth (category 1); crac is cooling, reported but not part of the PUE. Each glitch is one "
             "dropped reading of a continuous counter, so totals and daily rows are exact.",
             tz="Asia/Hong_Kong", devices=devs, category=1)
    c.origin = y0
    yt = hourly(y0, 8760)
    bads = {"main": (yt[2000], lambda v: v * 1000),
            "ups": (yt[4500], lambda v: v / 1000),
            "crac": (yt[6800], lambda v: v + 5000)}
    for d in devs:
        bt, f = bads[d.id]
        c.add_counter_rows(d.id, yt, lambda s, v, bt=bt, f=f: f(v) if s == bt else v)
    c.args = ["--year", "2025"]
    c.days = 365
    # the first and last HK days, and the HK days holding main's and ups's glitches
    c.daily = sorted({date(2025, 1, 1), date(2025, 12, 31),
                      local_date(c.tz, bads["main"][0]), local_date(c.tz, bads["ups"][0])})
    c.expect_hours = {d: 24 for d in c.daily}
    for did, (bt, _) in bads.items():
        # not at a HK day boundary, so the daily rows are exact too
        assert (bt - y0) % DAY != 0
    c.events = [("main", "glitch", 1), ("ups", "glitch", 1), ("crac", "glitch", 1)]
    c.checks = [(d, "counter", {"drop": {bads[d][0]}}) for d in ("main", "ups", "crac")]
    c.notes.append("bad readings: " + ", ".join(f"{d} at {rfc3339(bads[d][0])}" for d in ("main", "ups", "crac")) + ".")
    cases.append(c)

    # 22 year_london
    y0 = sec(2025, 1, 1)
    c = Case("year_london", "London year 2025, hourly counters, clean: 365 local days including a 23 h and a 25 h day",
             "Window = London year 2025 (2025-01-01T00:00Z to 2026-01-01T00:00Z, both GMT); each daily row is "
             "the truth over its own local midnights.", tz="Europe/London")
    c.origin = y0
    yt = hourly(y0, 8760)
    c.add_counter_rows("main", yt)
    c.add_counter_rows("it", yt)
    c.args = ["--year", "2025"]
    c.days = 365
    c.daily = [date(2025, 1, 1), date(2025, 3, 30), date(2025, 6, 15), date(2025, 10, 26), date(2025, 12, 31)]
    c.expect_hours = {date(2025, 1, 1): 24, date(2025, 3, 30): 23, date(2025, 6, 15): 24,
                      date(2025, 10, 26): 25, date(2025, 12, 31): 24}
    c.checks = [("main", "counter", {}), ("it", "counter", {})]
    cases.append(c)

    return cases


# ---------------------------------------------------------------- file checks -------------------

def read_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        assert next(r) == ["time", "device", "field", "value"]
        return [(parse_rfc3339(t), d, fl, float(v)) for t, d, fl, v in r]


def import_counts(rows):
    """duplicates: rows whose (device, field, time) was already seen; out_of_order: rows whose time
    is earlier than the previous row of the same device and field in the file."""
    seen, last = set(), {}
    dup = ooo = 0
    for s, d, f, _ in rows:
        key = (d, f, s)
        if key in seen:
            dup += 1
        seen.add(key)
        if (d, f) in last and s < last[(d, f)]:
            ooo += 1
        last[(d, f)] = s
    return dup, ooo


def series(rows, device, field):
    """The series as the import stores it: sorted by time, the later file row winning a repeated stamp."""
    kept = {}
    for s, d, f, v in rows:
        if d == device and f == field:
            kept[s] = v
    return sorted(kept.items())


def file_energy(case, rows, device, kind, p, s0, s1):
    """Energy of one device over [s0, s1] from the file alone, after undoing the case's known
    pathology (dropping known-bad points, adding back wraps or offsets)."""
    if kind in ("counter", "counter_kept"):
        pts = [(s, v) for s, v in series(rows, device, "energy_kwh") if s not in p.get("drop", ())]
        if "modulus" in p:
            out, add = [], 0.0
            for i, (s, v) in enumerate(pts):
                if i and v < pts[i - 1][1]:
                    add += p["modulus"]
                out.append((s, v + add))
            pts = out
        for at, off in p.get("offsets", ()):
            pts = [(s, v + off if s >= at else v) for s, v in pts]
        d = dict(pts)
        return d[s1] - d[s0]
    if kind == "power":
        pts = [(s, v) for s, v in series(rows, device, "active_power_w")
               if s not in p.get("drop", ()) and s0 <= s <= s1]
        assert pts[0][0] == s0 and pts[-1][0] == s1
        return math.fsum((b[0] - a[0]) / HOUR * (a[1] + b[1]) / 2000.0 for a, b in zip(pts, pts[1:]))
    raise ValueError(kind)


# ---------------------------------------------------------------- output ------------------------

def write_case(c):
    if not getattr(c, "sorted", False):
        c.sort_rows()
    with open(os.path.join(HERE, c.name + ".csv"), "w", newline="") as f:
        f.write("time,device,field,value\n")
        for s, d, fl, v in c.rows:
            f.write(f"{rfc3339(s)},{d},{fl},{v}\n")
    with open(os.path.join(HERE, c.name + ".toml"), "w", newline="") as f:
        f.write(f'[[sites]]\nid = "c1"\ntimezone = "{c.tz}"\n')
        for d in c.devices:
            f.write("\n" + d.toml())


def expected(c):
    if c.args is None:
        c.args = c.span_args()
    s0, s1 = resolve_window(c.tz, c.args)
    fac = next(d for d in c.devices if d.role == "facility")
    it = next(d for d in c.devices if d.role == "it")
    if c.facility_override:
        fk = true_energy("facility", *c.facility_override)
    else:
        fk = true_energy("facility", s0, s1)
    ik = true_energy("it", s0, s1)
    c.window = (s0, s1)
    c.fk, c.ik = fk, ik
    c.extra = {}
    for d in c.devices:
        if d.role == "cooling":
            c.extra[d.id] = true_energy("cooling", s0, s1)

    # reset/spike cases: how far the analyzer's estimate of the hidden interval is from the truth
    assert (c.hidden is not None) == any(k in ("reset", "spike") for _, k, _ in c.events), c.name
    if c.hidden is not None:
        c.notes.append(estimate_note(c, s0, s1, fk))

    # local-date windows: the same dates resolved in UTC (a tool that ignored the site's zone)
    c.zone_check = None
    if c.tz != "UTC" and not any("T" in v for v in c.args[1::2]):
        assert c.facility_override is None
        u0, u1 = resolve_window("UTC", c.args)
        ufk, uik = true_energy("facility", u0, u1), true_energy("it", u0, u1)
        c.zone_check = (u0, u1, ufk, uik, (fk - ufk) / ufk, (ik - uik) / uik)

    # the file, read back
    rows = read_csv(os.path.join(HERE, c.name + ".csv"))
    dup, ooo = import_counts(rows)
    if c.import_expect["out_of_order"] is None:
        assert ooo == 14 * 11 * 2  # 338 rows: 14 blocks of 24 (12 per series, 11 steps back each) + 2
        c.import_expect["out_of_order"] = ooo
    assert (dup, ooo) == (c.import_expect["duplicates"], c.import_expect["out_of_order"]), (c.name, dup, ooo)
    # the window is inside the data, and no pathology sits on the window's first or last reading
    assert min(r[0] for r in rows) <= s0 and s1 <= max(r[0] for r in rows), c.name
    for dev, kind, p in c.checks:
        want = {fac.id: fk, it.id: ik}.get(dev, c.extra.get(dev))
        got = file_energy(c, rows, dev, kind, p, s0, s1)
        if kind == "power":
            ok = abs(got - want) <= 1e-5 * want
        else:
            ok = abs(got - want) <= p.get("tol", 0.002)
        assert ok, (c.name, dev, got, want)
        for bad in p.get("drop", ()):
            assert s0 < bad < s1, (c.name, dev)
        for at, _ in p.get("offsets", ()):
            assert s0 < at < s1, (c.name, dev)

    daily = None
    if c.daily:
        check_zone_rules(c.tz, [dd + timedelta(days=k) for dd in c.daily for k in (0, 1)])
        daily = []
        for dd in c.daily:
            a, b = local_midnight(c.tz, dd), local_midnight(c.tz, dd + timedelta(days=1))
            hours = (b - a) // HOUR
            assert hours == c.expect_hours[dd], (c.name, dd, hours)
            dfk, dik = true_energy("facility", a, b), true_energy("it", a, b)
            daily.append({"day": dd.isoformat(), "hours": hours,
                          "facility_kwh": round(dfk, 6), "it_kwh": round(dik, 6)})
        c.daily_out = daily
    if c.days is not None:
        # count the local days in the window; the window must start and end on local midnights
        first = local_date(c.tz, s0)
        assert local_midnight(c.tz, first) == s0, c.name
        n, day = 0, first
        while local_midnight(c.tz, day) < s1:
            n, day = n + 1, day + timedelta(days=1)
        assert local_midnight(c.tz, day) == s1 and n == c.days, (c.name, n)
        check_zone_rules(c.tz, [first + timedelta(days=k) for k in range(n + 1)])

    out = {"name": c.name, "what": c.what, "args": c.args, "category": c.category,
           "facility_kwh": round(fk, 6), "it_kwh": round(ik, 6), "pue": round(fk / ik, 9),
           "events": [{"device": d, "kind": k, "count": n} for d, k, n in c.events],
           "import": dict(c.import_expect)}
    if daily is not None:
        out["daily"] = daily
    if c.days is not None:
        out["days"] = c.days
    return out


def zone_note(c):
    u0, u1, ufk, uik, rf, ri = c.zone_check
    return (f"the same dates resolved in UTC ({rfc3339(u0)} to {rfc3339(u1)}, a tool ignoring the site's zone) "
            f"would hold facility {ufk:.6f} kWh ({rf * 100:+.4f} % from the expected) and IT {uik:.6f} kWh "
            f"({ri * 100:+.4f} %).")


def readme(cases, entries):
    L = []
    L.append("# Meter-data corpus: messy meter exports with hand-computed answers\n")
    L.append("Generated by `gen.py` in this directory (Python 3 standard library, deterministic). "
             "Do not edit the data files, `cases.json` or this README by hand: change `gen.py` and run "
             "`python3 tests/data/meter-corpus/gen.py`.\n")
    L.append("## Files\n")
    L.append("- `NAME.csv`: `time,device,field,value`, one reading per row; RFC 3339 UTC times; `energy_kwh` "
             "(cumulative counter, kWh, printed to 0.001 kWh, or 0.1 kWh where the case says so) or "
             "`active_power_w` (W, printed to 0.01 W).")
    L.append("- `NAME.toml`: the inventory: one site `c1` with its `timezone` (`UTC` unless the case says "
             "otherwise; always written, since the default would be the host's zone) and the devices "
             "(`main` facility, `it` IT category 3, all `eastron-sdm630`; `year_glitches` has `main`, `ups` "
             "IT category 1 and `crac` cooling; `rated_spike` gives `main` `max_power_w = 400000`).")
    L.append("- `cases.json`: per case: `name`, `what`, `args` (for `kilowatch report pue`), `category`, the "
             "expected `facility_kwh`, `it_kwh`, `pue`, the `events` the report must name (device, kind, "
             "count), what the `import` must report (`duplicates`, `out_of_order`), and optionally `daily` "
             "rows (`day` = local date, `hours` = its length, plus the expected `facility_kwh` / `it_kwh` of "
             "that local day) and `days` (how many daily rows the window has).\n")
    L.append("## The model of true consumption\n")
    L.append("With h = hours since 2020-01-01T00:00Z (one continuous model across all cases):\n")
    L.append(f"- facility (`main`): P_f = {model_text('facility')}")
    L.append(f"- IT (`it`, `ups`): P_i = {model_text('it')}")
    L.append(f"- cooling (`crac`): P_c = {model_text('cooling')}\n")
    lo = {r: MODEL[r][0] - sum(abs(b) for b, _, _ in MODEL[r][1]) for r in MODEL}
    L.append("Angles in radians. Besides the daily sine, the weekly (168 h) sine and, for facility and IT, the "
             "yearly (8766 h) sine make the energy of a whole-day window depend on where the window sits: "
             "a window shifted by whole hours (for instance local dates resolved in the wrong time zone) "
             "changes the totals. Every power stays positive (at least "
             + ", ".join(f"{lo[r]:g} kW {r}" for r in MODEL) + ").\n")
    L.append("A counter reads C0 + (analytic energy from the case's first data instant to t): C0 = 120000 kWh "
             "for `main`, 80000 for `it`/`ups`, 30000 for `crac`, unless the case says otherwise. A power "
             "reading is P(t) x 1000 W at its time. Expected `facility_kwh`/`it_kwh` = the analytic integral "
             "of the model over the resolved window [from, to) (local dates resolved at the site's local "
             "midnights), `pue` = facility / IT. The one exception is `clock_back` (see there). `gen.py` "
             "asserts every expected number against an independent composite-Simpson sum of the model at "
             "1-minute steps (relative 1e-9), checks the zone rules it uses against the system tz database, "
             "and re-reads every CSV it wrote to check the expected numbers against the readings themselves "
             "(counter differences, with the known bad points dropped and wraps/offsets undone, to the print "
             "resolution; trapezoid sums of power readings to 1e-5 relative) and to count the import's "
             "duplicates and out-of-order rows by their definitions.\n")
    L.append("Event kinds: `glitch` (a reading leaves the trend and comes back: dropped and bridged), `spike` "
             "(a step beyond the meter's rating or many times its neighbouring rate that does not come back: "
             "rejected, interval estimated), `reset` (the counter goes down and stays: meter swap/reset, "
             "interval estimated), `wrap` (the counter passed its modulus), `gap` (readings further apart than "
             "3x the series' local typical interval), `stuck` (the counter repeats a value for several "
             "readings, then catches up).\n")
    L.append("Tolerance: the expected numbers are the truth. A correct tool is off only by the printing "
             "resolution (0.001 kWh per counter reading) except where it must estimate or the data are "
             "coarse: the estimated hour in the `reset` and `spike` cases (one hour of about 150 kWh out of "
             + " to ".join(sorted({f"{c.fk:.0f}" for c in cases if c.hidden is not None})) + " kWh; the analyzer estimates it as the mean of the rates of the step just before and the "
             "step just after, over the same length, and each case's Detail gives that estimate's difference "
             "from the truth relative to the case's facility energy, which `gen.py` asserts is under "
             f"{ESTIMATE_LIMIT * 100:g} %), 0.1 kWh readings in `wrap16` and `word_swap`, and the "
             "trapezoid over 1-minute power readings (`gap_minutes`, `power_spike`: under 0.001 %). "
             "Whole-day windows no longer total exactly 150 (facility) and 100 (IT) kWh per hour: the "
             "weekly and yearly sines do not integrate to zero over a day. The cases with local-date args in "
             "a non-UTC zone give, in their Detail, what the same dates resolved in UTC would hold; `gen.py` "
             "asserts that for `leap_day` (Asia/Hong_Kong, 8 h off) this differs from the expected facility "
             f"energy by more than {ZONE_LIMIT * 100:g} %. Caveats: a window of exactly 7 days (one weekly "
             "period) moved by whole hours changes only through the yearly sine (a few thousandths of a "
             "percent per hour), and the London year (`year_london`) starts and ends in GMT, so it equals "
             "the UTC year: its 23 h / 25 h daily rows, not its total, reveal a zone error; `year_glitches`' "
             "Hong Kong year is only a few thousandths of a percent off the UTC year.\n")
    L.append("## Cases\n")
    for c, e in zip(cases, entries):
        s0, s1 = c.window
        L.append(f"### {c.name}\n")
        L.append(f"- Pathology: {c.what}.")
        L.append(f"- Site zone: {c.tz}; args: `{' '.join(e['args'])}`; window {rfc3339(s0)} to {rfc3339(s1)} "
                 f"({(s1 - s0) / HOUR:g} h); category {c.category}.")
        L.append(f"- Expected: {c.how}")
        for n in c.notes:
            L.append(f"- Detail: {n}")
        if c.zone_check is not None:
            L.append(f"- Detail: {zone_note(c)}")
        L.append(f"- facility_kwh {e['facility_kwh']:.6f}, it_kwh {e['it_kwh']:.6f}, pue {e['pue']:.9f}"
                 + "".join(f"; {k} ({next(d.role for d in c.devices if d.id == k)}) {v:.6f} kWh"
                           for k, v in c.extra.items()))
        ev = ", ".join(f"{x['device']} {x['kind']} {x['count']}" for x in e["events"]) or "none"
        L.append(f"- Events: {ev}; import: duplicates {e['import']['duplicates']}, "
                 f"out_of_order {e['import']['out_of_order']}.")
        if "daily" in e:
            L.append("- Daily rows checked: " + "; ".join(
                f"{r['day']} ({r['hours']} h) facility {r['facility_kwh']:.6f} / IT {r['it_kwh']:.6f}"
                for r in e["daily"]) + (f"; {e['days']} daily rows in all." if "days" in e else "."))
        elif "days" in e:
            L.append(f"- {e['days']} daily rows.")
        L.append("")
    return "\n".join(L)


def main():
    cases = build_cases()
    names = [c.name for c in cases]
    assert len(set(names)) == len(names) == 22
    entries = []
    for c in cases:
        write_case(c)
        e = expected(c)
        entries.append(e)
        ev = ",".join(f"{x['device']}:{x['kind']}x{x['count']}" for x in e["events"]) or "-"
        print(f"{c.name:14s} rows={len(c.rows):6d} facility={e['facility_kwh']:.6f} it={e['it_kwh']:.6f} "
              f"pue={e['pue']:.9f} events={ev} import={e['import']['duplicates']}/{e['import']['out_of_order']}"
              + (f" days={e['days']}" if 'days' in e else ""))
    print("hidden-interval estimates (mean of the rates of the steps before and after, vs truth, "
          f"relative to the window's facility energy; limit {ESTIMATE_LIMIT * 100:g} %):")
    for c in cases:
        if c.hidden is not None:
            print(f"  {c.name:14s} {rfc3339(c.hidden[0])} .. {rfc3339(c.hidden[1])}  {c.estimate_rel * 100:+.5f} %")
    print("local-date windows resolved in UTC instead of the site zone (facility, IT):")
    for c in cases:
        if c.zone_check is not None:
            u0, u1, ufk, uik, rf, ri = c.zone_check
            print(f"  {c.name:14s} {c.tz:15s} expected {c.fk:.6f} / UTC {ufk:.6f}: {rf * 100:+.4f} %; "
                  f"IT {c.ik:.6f} / {uik:.6f}: {ri * 100:+.4f} %")
    lp = next(c for c in cases if c.name == "leap_day")
    ok = abs(lp.zone_check[4]) > ZONE_LIMIT
    print(f"leap_day zone check: |{lp.zone_check[4] * 100:+.4f} %| > {ZONE_LIMIT * 100:g} %: {'PASS' if ok else 'FAIL'}")
    assert ok
    with open(os.path.join(HERE, "cases.json"), "w", newline="") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "README.md"), "w", newline="") as f:
        f.write(readme(cases, entries))
    total = sum(os.path.getsize(os.path.join(HERE, n)) for n in os.listdir(HERE))
    print(f"total size {total} bytes")
    assert total < 3_200_000


if __name__ == "__main__":
    sys.exit(main())
