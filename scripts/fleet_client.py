"""Token load for scripts/fleet.sh (standard library only).

Threads send `GET /registry/token` (Basic auth, one pull scope) to each
target over kept-alive connections and write every answer as one JSON line:
target, start time, duration, status (or the exception's name), the token's
`jti` and `kid` when one was granted, whether an error body was JSON.
`--readyz NAME=URL` also polls that replica's `/readyz` every 0.2 s (rows
with `"probe": "readyz"`). Bounded by `--seconds`, by `--max` token
requests in all, and by a stop file; each request times out after 10 s.

    python3 fleet_client.py --out FILE --creds USER:SECRET --seconds S \
        --target a=http://127.0.0.1:PORT [--target b=…] [--threads N] \
        [--max N] [--readyz b=http://127.0.0.1:PORT] [--stop-file PATH]
"""

import argparse
import base64
import http.client
import json
import os
import threading
import time
import urllib.parse

TIMEOUT = 10.0  # twice the portal's own bound (its audit commit waits at most 5 s)
TOKEN_PATH = "/registry/token?service=portcullis-registry&scope=repository:acme/widget:pull"


def jwt_part(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--creds", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--target", action="append", required=True, help="NAME=URL")
    p.add_argument("--threads", type=int, default=2, help="per target")
    p.add_argument("--max", type=int, default=5000, help="token requests in all")
    p.add_argument("--readyz", help="NAME=URL whose /readyz is polled")
    p.add_argument("--stop-file")
    a = p.parse_args()

    deadline = time.time() + a.seconds
    lock = threading.Lock()
    budget = [a.max]
    out = open(a.out, "w", buffering=1)

    def stopped():
        return time.time() >= deadline or (a.stop_file is not None and os.path.exists(a.stop_file))

    def take():
        with lock:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            return True

    def record(row):
        with lock:
            out.write(json.dumps(row) + "\n")

    def one(conn, name, path, headers):
        t = time.time()
        row = {"target": name, "t": t}
        if path != TOKEN_PATH:
            row["probe"] = "readyz"
        try:
            conn.request("GET", path, headers=headers)
            res = conn.getresponse()
            body = res.read()
            row["status"] = res.status
            if res.status == 200 and path == TOKEN_PATH:
                token = json.loads(body)["token"]
                row["jti"] = jwt_part(token, 1).get("jti")
                row["kid"] = jwt_part(token, 0).get("kid")
            elif res.status >= 400 and path == TOKEN_PATH:
                try:
                    json.loads(body)
                    row["json"] = True
                except ValueError:
                    row["json"] = False
            keep = res.getheader("Connection", "").lower() != "close"
        except Exception as e:  # a timeout, a refused or dropped connection
            row["status"] = None
            row["error"] = type(e).__name__
            keep = False
        row["dt"] = round(time.time() - t, 4)
        record(row)
        return keep

    def worker(name, url, path, headers, pause, counted):
        u = urllib.parse.urlsplit(url)
        conn = None
        while not stopped() and (not counted or take()):
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
            if not one(conn, name, path, headers):
                conn.close()
                conn = None
                time.sleep(0.05)
            if pause:
                time.sleep(pause)
        if conn is not None:
            conn.close()

    auth = {"Authorization": "Basic " + base64.b64encode(a.creds.encode()).decode()}
    threads = []
    for spec in a.target:
        name, url = spec.split("=", 1)
        for _ in range(a.threads):
            threads.append(threading.Thread(target=worker, args=(name, url, TOKEN_PATH, auth, 0, True)))
    if a.readyz:
        name, url = a.readyz.split("=", 1)
        threads.append(threading.Thread(target=worker, args=(name, url, "/readyz", {}, 0.2, False)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.close()


if __name__ == "__main__":
    main()
