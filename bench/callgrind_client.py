"""Client side of bench/callgrind.sh: warm the server up, then send N
requests with callgrind's instrumentation switched on around them only.

  callgrind_client.py graphql PORT N DATA_DIR   members-page, signed in as the
                                                first seeded organization's admin
  callgrind_client.py baseline PORT N DATA_DIR  the same page from the baseline
"""
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

mode, port, n, data_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fx = json.load(open(os.path.join(data_dir, "bench-fixtures.json")))
org = fx["orgs"][0]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
Q = ("query MembersPage($handle: String!) { organization(handle: $handle) { members(first: 100) "
     "{ nodes { role joinedAt seat { assignedAt } account { id email firstName lastName } } } } }")

if mode == "graphql":
    body = urllib.parse.urlencode({"grant_type": "password", "username": org["admin_email"], "password": fx["password"]})
    c.request("POST", "/oauth/token", body, {"content-type": "application/x-www-form-urlencoded"})
    tok = json.loads(c.getresponse().read())["access_token"]
    req = json.dumps({"query": Q, "variables": {"handle": org["handle"]}})

    def one():
        c.request("POST", "/graphql", req, {"content-type": "application/json", "authorization": "Bearer " + tok})
        r = c.getresponse()
        b = r.read()
        assert r.status == 200 and b'"errors"' not in b, b[:300]
        assert len(json.loads(b)["data"]["organization"]["members"]["nodes"]) == 100
else:
    def one():
        c.request("GET", "/orgs/%s/members" % org["handle"])
        r = c.getresponse()
        b = r.read()
        assert r.status == 200, b[:300]
        assert len(json.loads(b)["data"]["organization"]["members"]["nodes"]) == 100


# Warm-up: every pooled connection has its statements prepared.
for _ in range(60):
    one()
subprocess.run(["callgrind_control", "-i", "on"], check=True, capture_output=True)
for _ in range(n):
    one()
subprocess.run(["callgrind_control", "-i", "off"], check=True, capture_output=True)
subprocess.run(["callgrind_control", "-d"], check=True, capture_output=True)
