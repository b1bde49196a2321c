#!/usr/bin/env python3
"""A token service for the registry tests: the bearer-token flow of the distribution spec, as
Docker Hub and most hosted registries use it. GET /token?service=S&scope=repository:NAME:pull
with Basic USER:PASSWORD answers {"token": JWT}; the JWT (RS256, its certificate in the `x5c`
header) grants what the scope asks. Debian's docker-registry is configured with
`auth.token.rootcertbundle` = the certificate, so it checks the tokens as it would a real
service's. Listens on 127.0.0.1 only; writes its port to PORT_FILE once it listens.

usage: token-server.py PORT_FILE KEY.pem CERT.pem USER:PASSWORD SERVICE ISSUER"""
import base64
import http.server
import json
import subprocess
import sys
import time
import urllib.parse

port_file, key, cert, userpass, service, issuer = sys.argv[1:7]
expected = "Basic " + base64.b64encode(userpass.encode()).decode()
with open(cert) as f:
    pem = f.read()
der = base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(scope, account):
    access = []
    for item in scope:
        parts = item.split(":")
        if len(parts) == 3:
            access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    claims = {"iss": issuer, "sub": account, "aud": service, "exp": now + 600, "nbf": now - 10, "iat": now,
              "jti": str(now) + str(id(access)), "access": access}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                               capture_output=True, check=True).stdout
    return signing + "." + b64url(signature)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path != "/token":
            self.send_error(404)
            return
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            return
        body = json.dumps({"token": token(query.get("scope", []), userpass.split(":")[0]), "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
