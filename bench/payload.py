#!/usr/bin/env python3
"""What a browser downloads to show and hydrate a page, from a built site.

Usage: payload.py PKG_DIR [LABEL]
Prints every file's raw and brotli (-q 11) size: the main wasm, the JS glue,
the split loader, the CSS, the chunks in all; then the first load of a page
outside the lazy routes (main wasm + JS + loader + CSS: what every first
load carries) and, per lazy route, that plus the chunks its entry in
__wasm_split_manifest.json names (what HydrationScripts preloads for a
server-rendered page behind it). With LABEL, ends with one line
`LABEL initial=… max=…` (brotli bytes) for the change log.
"""
import json
import os
import subprocess
import sys

pkg = sys.argv[1]
label = sys.argv[2] if len(sys.argv) > 2 else None
NAME = os.environ.get("LEPTOS_OUTPUT_NAME", "portcullis")
LOADER = "__wasm_split.______________________.js"


def sizes(name):
    path = os.path.join(pkg, name)
    raw = os.path.getsize(path)
    br = len(subprocess.run(["brotli", "-c", "-q", "11", path], check=True, capture_output=True).stdout)
    return raw, br


def kb(n):
    return f"{n / 1000:,.1f} KB"


initial = [f"{NAME}.wasm", f"{NAME}.js", LOADER, f"{NAME}.css"]
files = {f: sizes(f) for f in initial if os.path.exists(os.path.join(pkg, f))}
chunks = {f: sizes(f) for f in os.listdir(pkg) if f.endswith(".wasm") and f.startswith(("chunk_", "split_"))}

print(f"  {'file':<40} {'raw':>12} {'brotli':>12}")
for f, (raw, br) in files.items():
    print(f"  {f:<40} {kb(raw):>12} {kb(br):>12}")
print(f"  {f'{len(chunks)} lazy chunks (chunk_*, split_*)':<40} {kb(sum(r for r, _ in chunks.values())):>12} "
      f"{kb(sum(b for _, b in chunks.values())):>12}")
base = sum(br for _, br in files.values())
print(f"  first load, a page outside the lazy routes (wasm + JS + loader + CSS): {kb(base)} brotli")

worst = base
manifest_path = os.path.join(pkg, "__wasm_split_manifest.json")
if os.path.exists(manifest_path):
    manifest = json.load(open(manifest_path))
    print("  first load behind a lazy route (+ the chunks it preloads):")
    rows = []
    for split, needed in manifest.items():
        # "__admin_dashboard_view_<hash>" → admin_dashboard
        route = split.strip("_").rsplit("_", 1)[0].removesuffix("_view").removesuffix("_page")
        br = sum(chunks.get(c + ".wasm", (0, 0))[1] for c in needed)
        rows.append((base + br, route, len(needed), br))
    for total, route, n, br in sorted(rows, reverse=True):
        print(f"    {route:<28} {n:>4} chunks {kb(br):>10}  total {kb(total):>10}")
    worst = max([base] + [r[0] for r in rows])
if label:
    print(f"{label} initial={base} max={worst}")
