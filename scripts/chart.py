#!/usr/bin/env python3
"""Draws the main ratios of asyncio against tokio's current-thread runtime as an SVG bar chart
(no plotting library). Reads the saved outputs of scripts/bench.sh:

    python3 scripts/chart.py target/bench benchmarks.svg

Bars above 1 mean asyncio is faster (runtime workloads: tokio time / asyncio time; network
workloads: tokio server CPU per request / asyncio's). The dashed lines mark 1.0 and the 1.5
target of issue 7 for the runtime workloads.
"""
import csv
import html
import os
import re
import sys


def runtime_ratios(path):
    rows = []
    if os.path.exists(path):
        for line in open(path, encoding='utf-8'):
            m = re.match(r'asyncio vs tokio current-thread, (.+): ([\d.]+)×', line)
            if m:
                rows.append((m.group(1), float(m.group(2)), 'runtime'))
    return rows


def echo_ratios(path):
    rows, by = [], {}
    if os.path.exists(path):
        for r in csv.DictReader(open(path, encoding='utf-8'), delimiter='\t'):
            by.setdefault(r['workload'], {})[r['server']] = float(r['cpu_us_per_op'])
    for workload, servers in by.items():
        if 'asyncio' in servers and 'tokio ct' in servers:
            rows.append((workload + ' (CPU/op)', servers['tokio ct'] / servers['asyncio'], 'net'))
        if 'asyncio 2 loops' in servers and 'tokio mt(2)' in servers:
            rows.append((workload + ': 2 loops vs mt(2) (CPU/op)',
                         servers['tokio mt(2)'] / servers['asyncio 2 loops'], 'net'))
    return rows


def svg(rows, title):
    width, label_w, bar_h, gap, top = 900, 380, 18, 6, 50
    plot_w = width - label_w - 60
    vmax = max([2.0] + [r for _, r, _ in rows]) * 1.05
    x = lambda v: label_w + v / vmax * plot_w
    height = top + len(rows) * (bar_h + gap) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    for i, (name, ratio, kind) in enumerate(rows):
        y = top + i * (bar_h + gap)
        color = '#3b7dd8' if kind == 'runtime' else '#e08a2c'
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{html.escape(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{x(ratio) - label_w:.1f}" height="{bar_h}" fill="{color}"/>')
        out.append(f'<text x="{x(ratio) + 4:.1f}" y="{y + bar_h - 5}">×{ratio:.2f}</text>')
    bottom = top + len(rows) * (bar_h + gap)
    for v, label in ((1.0, 'tokio ct = 1'), (1.5, 'target 1.5')):
        out.append(f'<line x1="{x(v):.1f}" y1="{top - 8}" x2="{x(v):.1f}" y2="{bottom}" '
                   'stroke="#333" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x(v):.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>')
    out.append(f'<text x="{label_w}" y="{bottom + 34}" fill="#3b7dd8">■ runtime: tokio ct time / asyncio time</text>')
    out.append(f'<text x="{label_w + 300}" y="{bottom + 34}" fill="#e08a2c">■ TCP echo: baseline server CPU per op / asyncio\'s</text>')
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else 'target/bench'
    dst = sys.argv[2] if len(sys.argv) > 2 else 'benchmarks.svg'
    rows = runtime_ratios(os.path.join(src, 'runtime.txt'))
    rows += echo_ratios(os.path.join(src, 'echo-results.tsv')
                        if os.path.exists(os.path.join(src, 'echo-results.tsv'))
                        else 'target/echo-results.tsv')
    if not rows:
        sys.exit(f'no results under {src}; run scripts/bench.sh first')
    open(dst, 'w', encoding='utf-8').write(svg(rows, 'asyncio vs tokio current-thread (above 1: asyncio is faster)'))
    print(f'wrote {dst} ({len(rows)} bars)')


if __name__ == '__main__':
    main()
