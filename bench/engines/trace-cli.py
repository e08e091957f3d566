#!/usr/bin/env python3
"""Times `kubectl-mirror trace -- CMD` under each tracer engine against the
command run natively: alternating runs, medians (this machine is shared and
noisy; the ratio of runs side by side is the figure). Run as root from the
repository after `go build -o bin/kubectl-mirror ./cmd/kubectl-mirror`:

    python3 bench/engines/trace-cli.py [ROUNDS]
"""
import os, statistics, subprocess, sys, time

PLUGIN = os.path.abspath("bin/kubectl-mirror")
IMPORTS = ("import json, re, os, sys, subprocess, threading, socket, http.client, "
           "urllib.request, email, logging, argparse, collections, decimal")
# The interpreter itself, not a version manager's shim in front of it.
PYTHON = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True).stdout.strip()
CASES = [
    ("python -c pass", [PYTHON, "-c", "pass"]),
    ("python importing 14 stdlib modules", [PYTHON, "-c", IMPORTS]),
    ("sh loop of 3000 [ -f ] tests", ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do [ -f /etc/hostname ]; i=$((i+1)); done"]),
    ("trace -- true (fixed start-up)", ["true"]),
]
MODES = [("native", None), ("hybrid", "hybrid"), ("ptrace", "ptrace")]


def once(argv, engine):
    env = dict(os.environ)
    if engine is not None:
        env["MIRROR_TRACER_ENGINE"] = engine
        argv = [PLUGIN, "trace", "--"] + argv
    start = time.perf_counter()
    r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"{argv} ({engine}): exit {r.returncode}")
    return took * 1000


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    for name, argv in CASES:
        for _, engine in MODES:  # warm caches
            once(argv, engine)
        times = {m: [] for m, _ in MODES}
        for _ in range(rounds):
            for m, engine in MODES:
                times[m].append(once(argv, engine))
        med = {m: statistics.median(xs) for m, xs in times.items()}
        n = med["native"]
        print(f"{name}: native {n:.1f} ms, trace hybrid {med['hybrid']:.1f} ms ({med['hybrid']/n:.2f}x), "
              f"trace ptrace {med['ptrace']:.1f} ms ({med['ptrace']/n:.2f}x); hybrid/ptrace {med['hybrid']/med['ptrace']:.2f}x")


if __name__ == "__main__":
    main()
