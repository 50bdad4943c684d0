#!/usr/bin/env python3
"""Writes BENCHMARKS.md from one run of scripts/bench.sh.

Inputs, all under the run directory given with --run:
  criterion/<group>/<bench>/new/estimates.json   criterion's estimates (ns per iteration)
  results/*.json                                 figures the benches and the Node peer wrote
                                                 (instructions.json: scripts/instructions.py)
and, from the repository, benches/instructions.json (the committed instruction counts).
  load.txt                                       /proc/loadavg when the run started

Only the Python 3 standard library is used. Usage:
  scripts/bench_report.py --run target/bench-run --out BENCHMARKS.md
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HOT_PEERS = [
    # (criterion id, label)
    ("floor", "floor: 9 pre-resolved `AtomicU64::fetch_add`"),
    ("project_tracker", "**this project**, `CheckoutTracker` path"),
    ("project_calls", "**this project**, one call per update"),
    ("project_bound", "**this project**, held handles (`bind_funnel`, `bind_sale`)"),
    ("raw_sdk", "raw `opentelemetry_sdk`, per-call `KeyValue` arrays"),
    ("prometheus", "`prometheus` crate 0.14, `with_label_values`"),
]
PROM_CLIENT = "guide's code on Node `prom-client`"

TARGET_NS = 100.0
# One thread's median time per event, at most this many times the floor's.
FLOOR_TARGETS = [("project_tracker", "`CheckoutTracker` path", 5.0),
                 ("project_calls", "one call per update", 7.0),
                 ("project_bound", "held handles", 2.5)]
# Two threads' events per second, at least this many times one thread's.
SCALING_TARGET = 1.6

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED_INSTRUCTIONS = "benches/instructions.json"


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def median_ns(run, group, bench):
    path = os.path.join(run, "criterion", group, bench, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    return read_json(path)["median"]["point_estimate"]


def result(run, name):
    path = os.path.join(run, "results", name + ".json")
    return read_json(path) if os.path.exists(path) else None


def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_ns(ns):
    if ns is None:
        return "n/a"
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"


def fmt_rate(per_s):
    if per_s is None:
        return "n/a"
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M"
    return f"{per_s / 1e3:.0f} k"


def fmt_ms(ms):
    return "n/a" if ms is None else f"{ms:.1f}"


def fmt_mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def ratio_words(ours, theirs, lower_is_better=True, words=("faster", "slower")):
    """'N.Nx faster'-style comparison of our figure against a peer's."""
    if ours is None or theirs is None or ours <= 0 or theirs <= 0:
        return None
    r = theirs / ours if lower_is_better else ours / theirs
    word = words[0] if r >= 1 else words[1]
    r = max(r, 1 / r)
    return f"{r:.2f}x {word}" if r < 1.1 else f"{r:.1f}x {word}"


def check_line(name, ok, figure):
    if ok is None:
        return f"- NOT MEASURED: {name} ({figure})"
    return f"- {'PASS' if ok else 'FAIL'}: {name}: {figure}"


def fmt_count(n):
    return "n/a" if n is None else f"{n:,}"


def instructions_section(w, measured):
    """Instructions per event from this run's callgrind counts, beside the committed ones."""
    path = os.path.join(ROOT, COMMITTED_INSTRUCTIONS)
    committed = read_json(path) if os.path.exists(path) else {}
    ours = (measured or {}).get("instructions_per_event", {})
    theirs = committed.get("instructions_per_event", {})
    max_rise = (measured or {}).get("max_rise", 0.10)
    w("## Instructions per purchase event (callgrind)")
    w("")
    w(f"| peer | instructions/event | x floor | committed in `{COMMITTED_INSTRUCTIONS}` |")
    w("|---|---:|---:|---:|")
    floor = ours.get("floor")
    for p, label in HOT_PEERS:
        xf = f"{ours[p] / floor:.1f}" if ours.get(p) and floor else "n/a"
        w(f"| {label} | {fmt_count(ours.get(p))} | {xf} | {fmt_count(theirs.get(p))} |")
    w("")
    events = (measured or {}).get("events")
    events = f"{events:,}" if isinstance(events, int) else "n/a"
    w("Instructions executed per event, counted with `valgrind --tool=callgrind` in one")
    w("small binary ([`benches/instructions.rs`](benches/instructions.rs)): each path is")
    w(f"set up and warmed up as for the times above, then records {events} events in")
    w("one function that callgrind collects alone (`--collect-atstart=no")
    w("--toggle-collect`), on the recording thread only: the")
    w("set-up, the warm-up and the `/metrics` server threads (nothing scrapes during the")
    w("count) are left out. Unlike the times, a count does not move with the machine's")
    w("load: repeated runs of one build agree within 0.1%. It weighs every instruction")
    w("alike, so it misses what makes one instruction slower than another (the clock")
    w("read of the tracker path, cache misses, contended atomics).")
    if measured:
        w(f"Measured with {measured.get('rustc', 'rustc ?')} and {measured.get('valgrind', 'valgrind ?')}.")
    w("")
    w("CI holds these figures: `scripts/test.sh` ends with `scripts/instructions.py --check`,")
    w("which builds this binary with the bench profile, counts every path (seconds once")
    w(f"built) and fails when one is more than {max_rise:.0%} above its figure committed in")
    w(f"[`{COMMITTED_INSTRUCTIONS}`]({COMMITTED_INSTRUCTIONS}), naming the path, both figures")
    w("and the rise; a drop passes. After a change that moves a figure on purpose, or a")
    w("compiler upgrade, `scripts/instructions.py --write` rewrites that file, to be committed")
    w("with the change.")
    w("")


def scaling_section(w, scaling, run):
    """What two threads on the same series show, and what many cores would."""
    def sc(p):
        return f"{scaling[p]:.2f}x" if scaling.get(p) else "n/a"
    upd = {}
    for p in ("project_counter", "sdk_bound_histogram"):
        one_ns = median_ns(run, "one_update", p)
        two_ns = median_ns(run, "one_update_2_threads", p)
        upd[p] = (one_ns, two_ns, (2 * one_ns / two_ns) if one_ns and two_ns else None)

    def up(p):
        one_ns, two_ns, ratio = upd[p]
        if ratio is None:
            return "n/a"
        return (f"{fmt_ns(one_ns)} ns on one thread, {fmt_ns(two_ns / 2)} ns per update on two"
                f" ({ratio:.2f}x the updates per second)")
    w("## Recording on many cores")
    w("")
    w(f"Two threads recording the same series, against one thread: held handles {sc('project_bound')},")
    w(f"`CheckoutTracker` {sc('project_tracker')}, one call per update {sc('project_calls')};")
    w(f"the floor's 9 shared atomics {sc('floor')}, raw SDK {sc('raw_sdk')}, `prometheus` crate")
    w(f"{sc('prometheus')}. A ratio below 1 means the second thread made both slower: every")
    w("update wrote a cache line the other core had to give up first.")
    w("")
    w("What the project's recording writes, per event:")
    w("")
    w("- **Counters** (funnel steps, conversions, revenue, the service's counters) add to")
    w("  the crate's own cell for their attribute set, on cache lines of its own. A cell")
    w("  starts as one atomic; the first time two threads collide on it (a lost")
    w("  compare-and-swap) it grows one stripe per hardware thread (a power of two, at")
    w("  most 64, each on its own 128-byte line), and from then on each thread adds to")
    w("  the stripe its probe picks, moving to another after a collision. An observable")
    w("  counter's callback sums the stripes when a reader collects, so totals are exact")
    w("  whatever collects concurrently, memory is bounded per series (one line, or at")
    w("  most 64 for a contended one), and threads that come and go only reuse stripes.")
    w("- **The revenue-per-minute window** does the same with its per-region rings: one")
    w("  ring behind a lock until two threads collide, then a ring per stripe.")
    w("- **Lookups** (the cache of funnel contexts and sales) read only: no lock, no")
    w("  reference count, no shared write. A `CheckoutTracker` borrows its instance and")
    w("  series, so creating and dropping one writes no reference count either.")
    w("- **Histograms** (time to conversion, order value) are measurements the SDK")
    w("  aggregates: `opentelemetry_sdk` 0.33 keeps each histogram series' buckets")
    w("  behind one mutex and sets a shared flag on every update, and the OpenTelemetry")
    w("  API has no asynchronous histogram through which pre-aggregated buckets could be")
    w("  reported. So the two histogram observations of a purchase are the one place where")
    w("  both threads write the same lines, and they are what keeps the two-thread ratio")
    w("  of the project's paths below 2.")
    w("")
    w("One update on a series both threads share (`one_update`, `one_update_2_threads`):")
    w("")
    w(f"- a counter step on the project's held funnel handle: {up('project_counter')};")
    w(f"- an observation on `opentelemetry_sdk`'s bound histogram: {up('sdk_bound_histogram')}.")
    w("")
    w("On a machine with many cores, nothing in the design has one cache line written by")
    w("every core per event, except those two SDK histogram series when every core records")
    w("on the same one (the `time_to_conversion` series of one conversion type is")
    w("shared by every purchase). Counters and the window spread over up to 64 stripes,")
    w("so their cost per event stays that of one thread's uncontended atomic; a")
    w("histogram series shared by N cores is updated by one core at a time.")
    w("")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the run directory of scripts/bench.sh")
    ap.add_argument("--out", required=True, help="the Markdown file to write")
    args = ap.parse_args()
    run = args.run

    one = {p: median_ns(run, "purchase_event", p) for p, _ in HOT_PEERS}
    # Each iteration of the two-thread group is one event on each thread.
    two_iter = {p: median_ns(run, "purchase_event_2_threads", p) for p, _ in HOT_PEERS}
    two = {p: (2e9 / ns if ns else None) for p, ns in two_iter.items()}
    # Two threads' events per second over one thread's.
    scaling = {p: (two[p] * one[p] / 1e9 if two.get(p) and one.get(p) else None) for p, _ in HOT_PEERS}
    render = {
        "project_scrape": median_ns(run, "render_10k", "project_scrape"),
        "raw_sdk_render": median_ns(run, "render_10k", "raw_sdk_render"),
        "raw_sdk_scrape": median_ns(run, "render_10k", "raw_sdk_scrape"),
        "raw_sdk_shared_values_scrape": median_ns(run, "render_10k", "raw_sdk_shared_values_scrape"),
        "prometheus_render": median_ns(run, "render_10k", "prometheus_render"),
        "prometheus_scrape": median_ns(run, "render_10k", "prometheus_scrape"),
    }
    render = {k: (v / 1e6 if v is not None else None) for k, v in render.items()}
    encode = {
        p: (lambda ns: ns / 1e6 if ns is not None else None)(median_ns(run, "otlp_encode_10k", p))
        for p in ("project", "raw_sdk")
    }
    node = result(run, "node_time") or {}
    rss = {p: result(run, f"rss_{p}") or {} for p in ("project", "raw_sdk", "prometheus", "prom_client")}
    large = result(run, "large_series") or {}
    small = result(run, "small_series") or {}
    otlp = result(run, "otlp") or {}
    node_ns = node.get("ns_per_event_median")

    load = "unknown"
    load_path = os.path.join(run, "load.txt")
    if os.path.exists(load_path):
        with open(load_path, encoding="utf-8") as f:
            load = " ".join(f.read().split()[:3])

    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w("<!-- Generated by scripts/bench.sh (scripts/bench_report.py). Do not edit: rerun the script. -->")
    w("")
    w("What recording one business event costs on a request's hot path, and what ~10k")
    w("series cost to export, for this project and the ways a team would otherwise write")
    w("the same metrics. All peers run the same workload in one run of `scripts/bench.sh`.")
    w("")
    w("**Workload.** A purchase event is 9 instrument updates with the contract's")
    w("attributes ([docs/METRICS.md](docs/METRICS.md)): 5 funnel steps (`cart_view` ..")
    w("`order_confirmed`), 1 conversion, 1 time-to-conversion observation, 1 revenue")
    w("increment, 1 order-value observation. Label values come from fixed pools chosen")
    w("by a counter `i` (source 4, device_type 3, experiment_variant 2, product_category 5,")
    w("payment_method 3, region 4, conversion_type `purchase`; amounts and durations")
    w("deterministic in `i`): 198 series. The large case enlarges the pools (source 80,")
    n_large = large.get("expected_business_series")
    n_large = f"{n_large:,}" if isinstance(n_large, int) else "n/a"
    w(f"variant 4, category 10, payment method 5, region 100) to {n_large} series")
    w("(counted in each peer's output; every SDK-based peer has the same cardinality")
    w("limit of 10,000 per instrument, and the benches fail if an overflow series appears).")
    w("Source: [`benches/`](benches/).")
    w("")

    w("## Hot path: one purchase event (9 updates), small pools")
    w("")
    w("| peer | ns/event, median, 1 thread | x floor (1 thread) | events/s, 2 threads sharing the instruments | 2 threads / 1 thread |")
    w("|---|---:|---:|---:|---:|")
    floor = one.get("floor")
    for p, label in HOT_PEERS:
        xf = f"{one[p] / floor:.1f}" if one.get(p) and floor else "n/a"
        sc = f"{scaling[p]:.2f}x" if scaling.get(p) else "n/a"
        w(f"| {label} | {fmt_ns(one.get(p))} | {xf} | {fmt_rate(two.get(p))} | {sc} |")
    xf = f"{node_ns / floor:.1f}" if node_ns and floor else "n/a"
    w(f"| {PROM_CLIENT} | {fmt_ns(node_ns)} | {xf} | n/a (one JS thread) | n/a |")
    w("")
    w("The `CheckoutTracker` path is one session's checkout as the API intends it:")
    w("`metrics.checkout(&ctx, start)` (validates the context once and creates the")
    w("session's funnel series at 0), four steps, `purchase_completed` (order_confirmed,")
    w("conversion with the time since the start read from the system clock, revenue,")
    w("order value). The one-call-per-update path is `record_funnel_step` x5,")
    w("`record_conversion`, `record_revenue`. The held-handle path is what a service")
    w("writes for its hottest combinations: one `BoundFunnel` per funnel context and")
    w("one `BoundSale` per sale combination, bound once before the loop and picked by")
    w("the event's index (as the floor holds its atomics), then four `step` calls and")
    w("`purchase_completed(&sale, amount, time_to_conversion)`; it still validates the")
    w("amount and the duration. All three run on the project's own pipeline")
    w("(`business-metrics-exporter` with the Prometheus bridge, its catalog views and")
    w("cardinality limit). The raw SDK and `prometheus` peers build their attribute")
    w("arrays or label slices per call from `&'static str` pool values, as a team writes")
    w("them by hand. The two-thread figure is two threads recording on the same")
    w("instruments at once (both threads' events per second of wall time). On a")
    w("2-core machine the two threads share both cores with everything else running,")
    w("so those columns are the noisiest figures here; the one-thread column moves by a")
    w("few percent between runs, and the instruction counts below not at all.")
    w("")
    scaling_section(w, scaling, run)

    instructions_section(w, result(run, "instructions"))

    w("## Export and memory at ~10k series")
    w("")
    w("| peer | series | render, ms | scrape, ms | OTLP encode, ms | peak RSS after populating, MiB | peak RSS after one scrape, MiB | RSS at start, MiB |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    lp = large.get("project", {})
    lr = large.get("raw_sdk", {})
    lq = large.get("prometheus", {})
    ln = node.get("large_series", {})
    rows = [
        ("**this project** (bridge = its own text encoder)",
         f"{lp.get('series', 'n/a')} + {lp.get('revenue_per_minute_series', 0)} per-minute",
         None, render["project_scrape"], encode["project"], rss["project"]),
        ("raw `opentelemetry_sdk` + opentelemetry-prometheus", lr.get("series", "n/a"),
         render["raw_sdk_render"], render["raw_sdk_scrape"], encode["raw_sdk"], rss["raw_sdk"]),
        ("raw `opentelemetry_sdk` + opentelemetry-prometheus, reference-counted label values", lr.get("series", "n/a"),
         None, render["raw_sdk_shared_values_scrape"], None, {}),
        ("`prometheus` crate 0.14", lq.get("series", "n/a"),
         render["prometheus_render"], render["prometheus_scrape"], None, rss["prometheus"]),
        (PROM_CLIENT, ln.get("series", "n/a"),
         node.get("render_ms_median"), None, None, rss["prom_client"]),
    ]
    for label, series, rend, scrape, enc, mem in rows:
        w(f"| {label} | {series} | {fmt_ms(rend)} | {fmt_ms(scrape)} | {fmt_ms(enc)} | "
          f"{fmt_mib(mem.get('hwm_populated_kib'))} | {fmt_mib(mem.get('hwm_scraped_kib'))} | "
          f"{fmt_mib(mem.get('baseline_rss_kib'))} |")
    w("")
    w("- *render*: the registry's text exposition in-process (`gather` + `TextEncoder`;")
    w("  prom-client: `registry.metrics()`). The project exposes its text only through the")
    w("  bridge, so its figure is the scrape.")
    w("- *reference-counted label values*: the raw SDK peer again, with its label values")
    w("  as `Arc<str>` instead of `&'static str`, as values a service reads at run time")
    w("  are and as the project keeps them. The SDK clones every attribute set on each")
    w("  collection; a static string copies for free, a shared one touches its count.")
    w("- *scrape*: `GET /metrics` over a fresh loopback connection, body read to the end:")
    w("  the project's bridge, and for the others an axum server of the same shape")
    w("  (one-worker Tokio runtime, gather and encode per request).")
    w("- *OTLP encode*: one collection's `ResourceMetrics` to the protobuf request body")
    w("  an OTLP exporter sends: the project's exporter writes it directly, reusing its")
    w("  buffers (the same bytes prost writes, checked before timing); the raw SDK peer")
    w("  uses opentelemetry-proto's transform, then prost:"
      f" project {otlp.get('project', {}).get('bytes', 0) / 1024:,.0f} KiB,"
      f" raw SDK {otlp.get('raw_sdk', {}).get('bytes', 0) / 1024:,.0f} KiB.")
    w("  The project's figure uses its instruments on an SDK provider with an in-memory")
    w("  reader and the same cardinality limit.")
    w("- *the project's scrape* is mostly the SDK's collection: its counters are observable")
    w("  counters reporting the crate's cells (see above), and `opentelemetry_sdk` 0.33")
    w("  rebuilds an observable instrument's attribute map on every collection (each")
    w("  series hashed about six times and its attributes copied two or three times),")
    w("  where bound synchronous counters are read in place. Its text encoding is a few")
    w("  milliseconds of it.")
    w("- *peak RSS*: `VmHWM` from `/proc/self/status`, one process per peer, each with its")
    w("  `/metrics` server running, after recording until every series exists, then")
    w("  after serving one scrape. The project's extra series are its derived")
    w("  `business_revenue_per_minute_cents` gauge (one per region).")
    w("- Exposition sizes: "
      + ", ".join(f"{name} {d.get('bytes', 0) / 1024:,.0f} KiB"
                  for name, d in (("project", lp), ("raw SDK", lr), ("prometheus", lq), ("prom-client", ln)))
      + ".")
    w("")

    w("## Ratios")
    w("")
    w("How this project compares with each peer (time per event, events per second on")
    w("two threads, render or encode time, peak memory):")
    w("")
    peers_hot = [("raw_sdk", "raw `opentelemetry_sdk`"), ("prometheus", "`prometheus` crate"), ("prom_client", "prom-client (the guide)")]
    for path, path_label in (("project_tracker", "`CheckoutTracker` path"), ("project_calls", "one-call-per-update path"), ("project_bound", "held-handle path")):
        parts = []
        for p, label in peers_hot:
            theirs = node_ns if p == "prom_client" else one.get(p)
            r = ratio_words(one.get(path), theirs)
            if r:
                parts.append(f"{r} than {label}")
        w(f"- Hot path, 1 thread, {path_label}: " + ("; ".join(parts) if parts else "n/a") + ".")
        parts = []
        for p, label in peers_hot[:2]:
            r = ratio_words(two.get(path), two.get(p), lower_is_better=False)
            if r:
                parts.append(f"{r} than {label}")
        w(f"- Hot path, 2 threads, {path_label}: " + ("; ".join(parts) if parts else "n/a") + ".")
    if one.get("floor") and one.get("project_tracker") and one.get("project_calls") and one.get("project_bound"):
        w(f"- The floor is {one['project_tracker'] / one['floor']:.1f}x below the tracker path, "
          f"{one['project_calls'] / one['floor']:.1f}x below the per-call path and "
          f"{one['project_bound'] / one['floor']:.1f}x below the held-handle path.")
    parts = []
    for key, label in (("raw_sdk_scrape", "raw SDK + opentelemetry-prometheus"),
                       ("raw_sdk_shared_values_scrape", "the same with reference-counted label values"),
                       ("prometheus_scrape", "`prometheus` crate")):
        r = ratio_words(render["project_scrape"], render[key])
        if r:
            parts.append(f"{r} than {label}")
    r = ratio_words(render["project_scrape"], node.get("render_ms_median"))
    if r:
        parts.append(f"{r} than prom-client's in-process render")
    w("- Scrape at ~10k series: " + ("; ".join(parts) if parts else "n/a") + ".")
    r = ratio_words(encode["project"], encode["raw_sdk"])
    w(f"- OTLP encode at ~10k series: {r or 'n/a'} than the raw SDK.")
    parts = []
    for p, label in (("raw_sdk", "raw SDK"), ("prometheus", "`prometheus` crate"), ("prom_client", "prom-client")):
        r = ratio_words(rss["project"].get("hwm_populated_kib"), rss[p].get("hwm_populated_kib"),
                        words=("less memory", "more memory"))
        if r:
            parts.append(f"{r} than {label}")
    w("- Peak RSS after populating ~10k series: " + ("; ".join(parts) if parts else "n/a") + ".")
    w("")

    w("## Target check")
    w("")
    for p, label, limit in FLOOR_TARGETS:
        ratio = one[p] / floor if one.get(p) and floor else None
        w(check_line(f"{label}, one thread, at most {limit:g}x the floor",
                     None if ratio is None else ratio <= limit,
                     f"{fmt_ns(one.get(p))} ns, {ratio:.2f}x" if ratio else "n/a"))
    for p, label in (("project_bound", "held handles"), ("project_tracker", "`CheckoutTracker` path")):
        w(check_line(f"{label}, two threads on the same series at least {SCALING_TARGET:g}x one thread's events per second",
                     None if scaling.get(p) is None else scaling[p] >= SCALING_TARGET,
                     f"{scaling[p]:.2f}x" if scaling.get(p) else "n/a"))
    ps_ = render["project_scrape"]
    qs_ = render["prometheus_scrape"]
    w(check_line("`/metrics` scrape at ~10k series at least 2x faster than the `prometheus` crate's",
                 None if ps_ is None or qs_ is None else qs_ >= 2 * ps_,
                 f"{fmt_ms(ps_)} ms vs {fmt_ms(qs_)} ms" + (f", {qs_ / ps_:.2f}x" if ps_ and qs_ else "")))
    pe_ = encode["project"]
    re_ = encode["raw_sdk"]
    w(check_line("one collection's OTLP encode at ~10k series no slower than the raw SDK's",
                 None if pe_ is None or re_ is None else pe_ <= re_,
                 f"{fmt_ms(pe_)} ms vs {fmt_ms(re_)} ms"))
    t = one.get("project_tracker")
    c = one.get("project_calls")
    b = one.get("project_bound")
    w(check_line("purchase event <= 100 ns median on one thread, pre-resolved (held-handle) path",
                 None if b is None else b <= TARGET_NS, f"{fmt_ns(b)} ns"))
    w(f"  (the paths that resolve label values on every event, against the same 100 ns:"
      f" `CheckoutTracker` {fmt_ns(t)} ns, one call per update {fmt_ns(c)} ns."
      f" Each event there validates or looks up its label values by content, two"
      f" lookups for the tracker and seven for the calls, and the tracker reads the"
      f" precise clock for the time to conversion.)")
    pr = rss["project"].get("hwm_populated_kib")
    rr = rss["raw_sdk"].get("hwm_populated_kib")
    w(check_line("project peak RSS <= raw SDK peak RSS at ~10k series",
                 None if pr is None or rr is None else pr <= rr,
                 f"{fmt_mib(pr)} MiB vs {fmt_mib(rr)} MiB"))
    ps = render["project_scrape"]
    rs = render["raw_sdk_scrape"]
    w(check_line("project Prometheus render <= raw SDK + opentelemetry-prometheus render at ~10k series (both scraped over loopback)",
                 None if ps is None or rs is None else ps <= rs,
                 f"{fmt_ms(ps)} ms vs {fmt_ms(rs)} ms"))
    rsv = render["raw_sdk_shared_values_scrape"]
    if ps is not None and rsv is not None:
        w(f"  (against the raw SDK peer with reference-counted label values: {fmt_ms(ps)} ms vs {fmt_ms(rsv)} ms,"
          f" {ratio_words(ps, rsv) or 'n/a'})")
    w("")

    w("## Machine and run")
    w("")
    w(f"- CPU: {cpu_model()}, {os.cpu_count()} cores")
    w(f"- Load average at the start of the run: {load} (other work on the machine makes figures noisier)")
    w(f"- {command_output(['rustc', '--version'])}")
    w(f"- Node {node.get('node', command_output(['node', '--version']))}, prom-client {node.get('prom_client', 'n/a')}")
    w(f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    w(f"- Criterion: {os.environ.get('BENCH_MEASUREMENT_SECS', '3')} s measurement and 1 s warm-up per hot-path benchmark (30 samples); 10 flat samples for the ~10k-series figures.")
    if small:
        w(f"- Small-pool series after the hot-path benches: project {small.get('project')} (its tracker also"
          f" creates each context's `checkout_error` series at 0), raw SDK {small.get('raw_sdk')},"
          f" `prometheus` {small.get('prometheus')} (expected {small.get('expected_business_series')}).")
    w("")
    w("Commands (what `scripts/bench.sh` runs):")
    w("")
    w("```sh")
    w("(cd benches/node && npm ci)            # when package-lock.json changed")
    w("cargo bench --locked -p business-metrics-workspace --bench purchase")
    w("cargo bench --locked -p business-metrics-workspace --bench peak_rss -- project   # and raw_sdk, prometheus")
    w("scripts/instructions.py --results <target>/bench-run/results/instructions.json")
    w("node benches/node/bench.js time && node benches/node/bench.js rss")
    w("python3 scripts/bench_report.py --run <target>/bench-run --out BENCHMARKS.md")
    w("```")
    w("")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
