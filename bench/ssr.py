#!/usr/bin/env python3
"""Times server-side rendering of the login page over keep-alive HTTP.

Usage: ssr.py BASE_URL [REQUESTS] [MAX_SECONDS]
Sequential requests on one connection (the latency of one render, not
throughput); stops at REQUESTS or MAX_SECONDS, whichever comes first.
"""
import http.client
import statistics
import sys
import time
from urllib.parse import urlparse

base = urlparse(sys.argv[1])
total = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
budget = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
path = "/login"

conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
for _ in range(50):  # warm-up: connection, caches, the allocator
    conn.request("GET", path)
    conn.getresponse().read()

samples = []
deadline = time.monotonic() + budget
while len(samples) < total and time.monotonic() < deadline:
    t0 = time.perf_counter()
    conn.request("GET", path)
    res = conn.getresponse()
    body = res.read()
    samples.append(time.perf_counter() - t0)
    if res.status != 200:
        sys.exit(f"GET {path}: HTTP {res.status}")

samples.sort()
def pct(p):
    return samples[min(len(samples) - 1, int(round(p / 100 * (len(samples) - 1))))] * 1000

print(f"SSR GET {path}: {len(samples)} requests, {len(body)} bytes each")
print(f"  p50 {pct(50):.2f} ms   p90 {pct(90):.2f} ms   p99 {pct(99):.2f} ms   max {samples[-1]*1000:.2f} ms")
print(f"  mean {statistics.mean(samples)*1000:.2f} ms   ({len(samples)/sum(samples):.0f} renders/s on one connection)")
