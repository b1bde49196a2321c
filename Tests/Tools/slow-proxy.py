#!/usr/bin/env python3
"""A TCP relay to 127.0.0.1:UPSTREAM that sends what comes back at most RATE bytes a second
per connection: a slow registry, so a test can kill a pull while a layer is half fetched.
With HOLD and GATE, a connection that has sent HOLD bytes back stops until the file GATE
exists (a test looks at a pull while a blob is half way, then lets it go on).
Listens on 127.0.0.1 only; writes its port to PORT_FILE once it listens, and a line to
PORT_FILE.connections for every connection it accepts.

usage: slow-proxy.py PORT_FILE UPSTREAM RATE [HOLD GATE]"""
import os
import socket
import sys
import threading
import time

port_file, upstream, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold, gate = (int(sys.argv[4]), sys.argv[5]) if len(sys.argv) > 5 else (0, None)
chunk = max(1024, rate // 20)


def pump(source, target, slow):
    sent = 0
    try:
        while True:
            data = source.recv(chunk)
            if not data:
                break
            if slow and gate and sent < hold <= sent + len(data):
                cut = hold - sent
                target.sendall(data[:cut])
                sent, data = hold, data[cut:]
                while not os.path.exists(gate):
                    time.sleep(0.01)
            target.sendall(data)
            sent += len(data)
            if slow:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        server = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(client, server, False), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, True), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    connection, _ = listener.accept()
    with open(port_file + ".connections", "a") as f:
        f.write("accepted\n")
    serve(connection)
