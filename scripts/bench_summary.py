#!/usr/bin/env python3
"""Summarise criterion results: a ratio table on stdout and one SVG chart.

For each benchmark group it compares `taskengine` (or the group's `taskengine*`
entries) with `serial` and with the best other entry (the peer), all from the same
run, and a scaling table: every entry that also ran on a one-worker engine
(`NAME@1w`) against itself on all workers. Then, when the C patterns benchmark left its JSON beside the criterion
directory (target/c/bench_patterns.json), its rows and targets.
Usage: bench_summary.py [criterion_dir] [svg_out]
"""
import json
import os
import sys


def load(criterion_dir):
    groups = {}
    for group in sorted(os.listdir(criterion_dir)):
        gdir = os.path.join(criterion_dir, group)
        if not os.path.isdir(gdir) or group == "report":
            continue
        for bench in sorted(os.listdir(gdir)):
            est = os.path.join(gdir, bench, "new", "estimates.json")
            if os.path.isfile(est):
                with open(est) as f:
                    groups.setdefault(group, {})[bench] = json.load(f)["mean"]["point_estimate"]
    return groups


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"


def summarise(groups):
    rows = []
    for group, benches in groups.items():
        # One-worker runs are for the scaling table only.
        benches = {k: v for k, v in benches.items() if "@" not in k}
        ours = {k: v for k, v in benches.items() if k.startswith("taskengine")}
        if not ours:
            continue
        best_name = min(ours, key=ours.get)
        t = ours[best_name]
        serial = benches.get("serial")
        peers = {k: v for k, v in benches.items() if k != "serial" and not k.startswith("taskengine")}
        peer_name = min(peers, key=peers.get) if peers else None
        rows.append({
            "group": group,
            "ours": best_name,
            "t": t,
            "serial": serial,
            "speedup": serial / t if serial else None,
            "peer": peer_name,
            "peer_t": peers.get(peer_name) if peer_name else None,
            "vs_peer": t / peers[peer_name] if peer_name else None,
        })
    return rows


def print_table(rows):
    print(f"{'benchmark':<28} {'taskengine':>12} {'serial':>12} {'speed-up':>9} {'best peer':>22} {'ours/peer':>10}")
    for r in rows:
        serial = fmt_time(r["serial"]) if r["serial"] else "-"
        speed = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        peer = f"{r['peer']} {fmt_time(r['peer_t'])}" if r["peer"] else "-"
        vs = f"{r['vs_peer']:.2f}" if r["vs_peer"] else "-"
        print(f"{r['group']:<28} {fmt_time(r['t']):>12} {serial:>12} {speed:>9} {peer:>22} {vs:>10}")
    print("speed-up = serial / taskengine (higher is better); ours/peer = taskengine / best peer (below 1 is better)")


def scaling(groups):
    """(group, entry, time on 1 worker, time on all, speed-up) for each entry
    that ran both ways."""
    rows = []
    for group, benches in groups.items():
        for name, t in benches.items():
            one = benches.get(name + "@1w")
            if "@" not in name and one:
                rows.append((group, name, one, t, one / t))
    return rows


def workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def print_scaling(rows):
    if not rows:
        return
    n = workers()
    print(f"\nscaling: 1 worker against all {n} workers (same run; speed-up = t(1) / t({n}), "
          f"efficiency = speed-up / {n})")
    print(f"{'benchmark':<28} {'entry':<18} {'1 worker':>12} {f'{n} workers':>12} {'speed-up':>9} {'efficiency':>10}")
    for group, name, one, t, speed in rows:
        print(f"{group:<28} {name:<18} {fmt_time(one):>12} {fmt_time(t):>12} {speed:>8.2f}x {100 * speed / n:>9.0f}%")


def write_svg(rows, path):
    bar_h, gap, left, width = 18, 14, 210, 420
    height = 60 + len(rows) * (2 * bar_h + gap)
    biggest = max([r["speedup"] or 0 for r in rows] + [1 / r["vs_peer"] if r["vs_peer"] else 0 for r in rows] + [1])
    scale = width / biggest
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" font-family="sans-serif" font-size="12">',
           '<text x="10" y="20" font-size="14" font-weight="bold">taskengine: speed-up over serial (blue) and over the best peer (orange)</text>',
           f'<line x1="{left + scale}" y1="30" x2="{left + scale}" y2="{height - 10}" stroke="#888" stroke-dasharray="4"/>',
           f'<text x="{left + scale + 3}" y="40" fill="#555">1x</text>']
    y = 50
    for r in rows:
        out.append(f'<text x="10" y="{y + bar_h}">{r["group"]}</text>')
        for value, colour, label in ((r["speedup"], "#3b75af", "vs serial"), (1 / r["vs_peer"] if r["vs_peer"] else None, "#ef8636", f"vs {r['peer']}")):
            if value:
                out.append(f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="{bar_h - 2}" fill="{colour}"/>')
                out.append(f'<text x="{left + value * scale + 4:.1f}" y="{y + bar_h - 5}">{value:.2f}x {label}</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def fmt_ratio(value, bound=None):
    if value is None:
        return "-"
    return {"lower": "> ", "upper": "< "}.get(bound, "") + f"{value:.2f}x"


def print_patterns(path):
    """The C/C++ patterns table (benches/c/patterns.c's JSON)."""
    with open(path) as f:
        data = json.load(f)
    print(f"\nC/C++ patterns, {data['threads']} threads ({path}; load average "
          f"{data['loadavg_start']} at the start, {data['loadavg_end']} at the end)")
    print(f"{'workload':<10} {'version':<38} {'median':>10} {'vs serial':>9} {'vs best peer':>16} {'target':>26}")
    for r in data["rows"]:
        if r.get("skipped"):
            print(f"{r['workload']:<10} {r['name']:<38} {r['skipped']}")
            continue
        bound = "lower" if r.get("lower_bound") else None
        time = ("> " if bound else "") + fmt_time(r["median_ms"] * 1e6)
        peer = f"{fmt_ratio(r['vs_best_peer'], bound)} {r['best_peer']}" if r["vs_best_peer"] is not None else "-"
        target = "-"
        if "target" in r:
            t = r["target"]
            verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            target = f"<={t['limit']:.2f}x {t['ref']}: {fmt_ratio(t['ratio'], t.get('bound'))} {verdict}"
        speed = fmt_ratio(r["vs_serial"], "upper" if bound else None)
        print(f"{r['workload']:<10} {r['name']:<38} {time:>10} {speed:>9} {peer:>16} {target:>26}")
    for t in data["targets"]:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"  {t['what']:<66} {fmt_ratio(t['ratio'], t.get('bound')):>8} {verdict}")


def main():
    criterion_dir = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
    svg = sys.argv[2] if len(sys.argv) > 2 else os.path.join(criterion_dir, "summary.svg")
    patterns = os.path.join(os.path.dirname(os.path.abspath(criterion_dir)), "c", "bench_patterns.json")
    if not os.path.isdir(criterion_dir) and not os.path.isfile(patterns):
        sys.exit(f"no criterion results in {criterion_dir}: run `make bench` first")
    if os.path.isdir(criterion_dir):
        groups = load(criterion_dir)
        rows = summarise(groups)
        print_table(rows)
        print_scaling(scaling(groups))
        write_svg(rows, svg)
        print(f"chart: {svg}; full report: {criterion_dir}/report/index.html")
    if os.path.isfile(patterns):
        print_patterns(patterns)


if __name__ == "__main__":
    main()
