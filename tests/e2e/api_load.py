"""A bounded load on the REST API: CLIENTS threads for SECONDS, each mixing
GETs with registers of fresh candidates (one in four requests).

usage: api_load.py URL TOKEN CLIENTS SECONDS OUT_DIR
Writes OUT_DIR/statuses (one status per line), OUT_DIR/registered (the ids
answered 201) and prints a one-line summary. Debian's /usr/bin/python3.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    url, token, clients, seconds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    u = urllib.parse.urlparse(url)
    base = u.path
    headers = {"Content-Type": "application/json"}
    if token != "-":
        headers["Authorization"] = "Bearer " + token
    lock = threading.Lock()
    statuses, registered = [], []
    deadline = time.time() + seconds

    def client(k):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        i = 0
        while time.time() < deadline:
            i += 1
            if i % 4 == 0:
                cid = "load-%d-%d" % (k, i)
                body = json.dumps({"candidate_id": cid, "version": "1.0.0", "source_snapshot": "HEAD"})
                method, path = "POST", base + "/candidates"
            else:
                cid, body, method = None, None, "GET"
                path = base + ["/candidates?limit=100", "/healthz", "/candidates/seed", "/policy"][i % 4]
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                st = r.status
            except (OSError, http.client.HTTPException) as e:
                st = "error:" + type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            with lock:
                statuses.append(str(st))
                if cid and st == 201:
                    registered.append(cid)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out + "/statuses", "w") as f:
        f.write("\n".join(statuses) + "\n")
    with open(out + "/registered", "w") as f:
        f.write("\n".join(registered) + ("\n" if registered else ""))
    print("%d requests, %d registers accepted" % (len(statuses), len(registered)))


if __name__ == "__main__":
    main()
