#!/usr/bin/env python3
"""onboard.py: time tenant creation as the number of tenants grows.

Creates 10 services (2 versions, 1 instance each) on a running greyrouter,
then 2000 tenants in batches of 500, printing the mean time per creation of
each batch; a creation must not get slower as tenants accumulate. Loopback
only; the token comes from GREYROUTER_ADMIN_TOKEN.

    GREYROUTER_ADMIN_TOKEN=... python3 tools/scale/onboard.py [port]
"""
import http.client
import json
import os
import sys
import time

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Authorization": "Bearer " + os.environ["GREYROUTER_ADMIN_TOKEN"],
           "Content-Type": "application/json"}


def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        sys.exit(f"{method} {path}: {resp.status} {data!r}")
    return json.loads(data)


for i in range(10):
    call("POST", "/api/v1/services", {"name": f"svc{i}"})
    for v in ("v1", "v2"):
        call("POST", f"/api/v1/services/svc{i}/versions", {"name": v})
        call("POST", f"/api/v1/services/svc{i}/instances",
             {"id": f"svc{i}-{v}", "version": v, "address": "10.0.0.1:80"})
    call("PUT", f"/api/v1/services/svc{i}", {"default_version": "v1"})

for batch in range(4):
    start = time.time()
    for j in range(500):
        call("POST", "/api/v1/tenants", {"name": f"t{batch}-{j}"})
    ms = (time.time() - start) * 1000 / 500
    print(f"tenants {batch * 500 + 1}-{batch * 500 + 500}: {ms:.2f} ms per creation (10 services)")
call("POST", "/api/v1/resolve", {"tenant": "t3-499", "service": "svc9"})
print("the last tenant resolves")
