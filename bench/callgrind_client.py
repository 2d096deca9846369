"""Client side of bench/callgrind.sh: sign in as the first seeded
organization's admin, warm the server up, then send N members-page requests
with callgrind's instrumentation switched on around them only."""
import http.client
import json
import os
import subprocess
import sys
import urllib.parse

port, n, data_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
fx = json.load(open(os.path.join(data_dir, "bench-fixtures.json")))
org = fx["orgs"][0]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
body = urllib.parse.urlencode({"grant_type": "password", "username": org["admin_email"], "password": fx["password"]})
c.request("POST", "/oauth/token", body, {"content-type": "application/x-www-form-urlencoded"})
tok = json.loads(c.getresponse().read())["access_token"]
Q = ("query MembersPage($handle: String!) { organization(handle: $handle) { members(first: 100) "
     "{ nodes { role joinedAt seat { assignedAt } account { id email firstName lastName } } } } }")
req = json.dumps({"query": Q, "variables": {"handle": org["handle"]}})


def one():
    c.request("POST", "/graphql", req, {"content-type": "application/json", "authorization": "Bearer " + tok})
    r = c.getresponse()
    b = r.read()
    assert r.status == 200 and b'"errors"' not in b, b[:300]


# Warm-up: every pooled connection has its statements prepared.
for _ in range(60):
    one()
subprocess.run(["callgrind_control", "-i", "on"], check=True, capture_output=True)
for _ in range(n):
    one()
subprocess.run(["callgrind_control", "-i", "off"], check=True, capture_output=True)
subprocess.run(["callgrind_control", "-d"], check=True, capture_output=True)
