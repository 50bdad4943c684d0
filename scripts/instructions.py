#!/usr/bin/env python3
"""Counts instructions per purchase event on each hot path with callgrind.

Builds the `instructions` bench (benches/instructions.rs) with cargo's bench profile,
runs each path in it once under `valgrind --tool=callgrind`, collecting only inside
its `measured_region` function (the recording loop, on the recording thread; set-up,
warm-up and server threads excluded), and prints instructions per event. Instruction
counts do not depend on how busy the machine is: the same build gives the same
figure within a fraction of a percent.

  scripts/instructions.py              # print the figures beside the committed ones
  scripts/instructions.py --check      # fail if a path rose more than 10% (CI)
  scripts/instructions.py --write      # rewrite benches/instructions.json
  scripts/instructions.py --check project_bound raw_sdk    # some paths only

The committed figures live in benches/instructions.json, with the rustc and valgrind
versions they were measured with. After a change that moves a figure on purpose (or a
compiler upgrade), rerun with --write and commit the file. Decreases never fail.
--results FILE also writes this run's figures to FILE (scripts/bench.sh does, for
BENCHMARKS.md). Needs cargo, valgrind and the Python 3 standard library.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "benches", "instructions.json")
BENCH = "instructions"
PACKAGE = "business-metrics-workspace"
# The rise over the committed figure that fails --check.
MAX_RISE = 0.10
# A hundred cycles of the small pools' 120 events.
EVENTS = 12_000
MEASURED_FUNCTION = "measured_region"


def fail(message):
    print(f"instructions: {message}", file=sys.stderr)
    sys.exit(1)


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"`{' '.join(cmd)}` failed: {e}")
    return out.strip().splitlines()[0]


def build():
    """Builds the bench with the bench profile and returns its executable."""
    cmd = ["cargo", "bench", "--locked", "-p", PACKAGE, "--bench", BENCH, "--no-run",
           "--message-format=json-render-diagnostics"]
    print("==> " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        fail(f"building the {BENCH} bench failed")
    executable = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        target = msg.get("target", {})
        if (msg.get("reason") == "compiler-artifact" and target.get("name") == BENCH
                and "bench" in target.get("kind", []) and msg.get("executable")):
            executable = msg["executable"]
    if not executable:
        fail(f"cargo reported no executable for the {BENCH} bench")
    return executable


def paths_of(executable):
    out = subprocess.run([executable, "--list"], capture_output=True, text=True, check=True).stdout
    return out.split()


def count(executable, path, events, workdir):
    """Instructions per event on `path`: callgrind's total inside the measured region
    divided by the events recorded there."""
    out_file = os.path.join(workdir, f"callgrind.{path}.out")
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
           f"--toggle-collect=*{MEASURED_FUNCTION}*", f"--callgrind-out-file={out_file}",
           executable, path, "--events", str(events)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        fail(f"{path}: `{' '.join(cmd)}` exited with {proc.returncode}")
    total = None
    with open(out_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("totals:"):
                total = int(line.split()[1])
    if not total:
        fail(f"{path}: callgrind collected no instructions; is `{MEASURED_FUNCTION}` still "
             "in benches/instructions.rs and never inlined?")
    return round(total / events)


def read_committed():
    if not os.path.exists(COMMITTED):
        return None
    with open(COMMITTED, encoding="utf-8") as f:
        return json.load(f)


def change(new, old):
    return (new - old) / old * 100


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Committed figures: benches/instructions.json.")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help=f"fail when a path is more than {MAX_RISE:.0%} above its committed figure")
    mode.add_argument("--write", action="store_true", help="rewrite benches/instructions.json")
    ap.add_argument("--results", metavar="FILE", help="also write this run's figures to FILE")
    ap.add_argument("paths", nargs="*", metavar="PATH", help="paths to count (default: all)")
    args = ap.parse_args()
    # Progress on stderr and figures on stdout stay in order when both are piped.
    sys.stdout.reconfigure(line_buffering=True)

    for tool in ("cargo", "valgrind"):
        if shutil.which(tool) is None:
            fail(f"{tool} is required but not installed (scripts/install-test-deps.sh installs valgrind)")

    started = time.monotonic()
    executable = build()
    known = paths_of(executable)
    unknown = [p for p in args.paths if p not in known]
    if unknown:
        fail(f"unknown path(s) {', '.join(unknown)}; expected some of {', '.join(known)}")
    paths = args.paths or known
    rustc = version(["rustc", "--version"])
    valgrind = version(["valgrind", "--version"])

    figures = {}
    with tempfile.TemporaryDirectory(prefix="instructions-") as workdir:
        for path in paths:
            figures[path] = count(executable, path, EVENTS, workdir)

    committed = read_committed()
    old = (committed or {}).get("instructions_per_event", {})
    print(f"{'path':<18}{'instructions/event':>20}{'committed':>12}{'change':>10}")
    for path in paths:
        before = old.get(path)
        if before:
            print(f"{path:<18}{figures[path]:>20,}{before:>12,}{change(figures[path], before):>+9.1f}%")
        else:
            print(f"{path:<18}{figures[path]:>20,}{'none':>12}{'':>10}")
    print(f"({EVENTS:,} events per path, {rustc}, {valgrind}, "
          f"{time.monotonic() - started:.0f} s)")

    if args.results:
        os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
        with open(args.results, "w", encoding="utf-8") as f:
            json.dump({"rustc": rustc, "valgrind": valgrind, "events": EVENTS,
                       "max_rise": MAX_RISE, "instructions_per_event": figures}, f, indent=2)
            f.write("\n")

    if args.write:
        merged = dict(old)
        merged.update(figures)
        ordered = {p: merged[p] for p in known if p in merged}
        with open(COMMITTED, "w", encoding="utf-8") as f:
            json.dump({"rustc": rustc, "valgrind": valgrind, "events": EVENTS,
                       "instructions_per_event": ordered}, f, indent=2)
            f.write("\n")
        print(f"wrote {os.path.relpath(COMMITTED, ROOT)}; commit it with the change that moved the figures")
        return

    if not args.check:
        return
    if committed is None:
        fail("benches/instructions.json is missing: run scripts/instructions.py --write and commit it")
    if committed.get("rustc") != rustc:
        print(f"note: the committed figures were measured with {committed.get('rustc')}; this build "
              f"uses {rustc}, and a compiler change can move them", file=sys.stderr)
    failures = []
    for path in paths:
        before = old.get(path)
        if not before:
            failures.append(f"{path}: no committed figure (new path?); measured {figures[path]:,}")
        elif figures[path] > before * (1 + MAX_RISE):
            failures.append(
                f"{path}: {figures[path]:,} instructions per event, {change(figures[path], before):+.1f}% "
                f"over the committed {before:,} (more than {MAX_RISE:.0%})")
    fallen = [p for p in paths if old.get(p) and figures[p] < old[p] * (1 - MAX_RISE)]
    if fallen:
        print(f"note: {', '.join(fallen)} fell more than {MAX_RISE:.0%}; --write records the new "
              "figures, so that later rises are measured from them")
    if failures:
        for line in failures:
            print(f"instructions: FAIL {line}", file=sys.stderr)
        fail("if the rise is intended, run scripts/instructions.py --write and commit "
             "benches/instructions.json with the change")
    print(f"instructions: every path within {MAX_RISE:.0%} of benches/instructions.json")


if __name__ == "__main__":
    main()
