#!/usr/bin/env python3
"""A TCP relay to 127.0.0.1:UPSTREAM that sends what comes back at most RATE bytes a second
per connection: a slow registry, so a test can kill a pull while a layer is half fetched.
Listens on 127.0.0.1 only; writes its port to PORT_FILE once it listens.

usage: slow-proxy.py PORT_FILE UPSTREAM RATE"""
import os
import socket
import sys
import threading
import time

port_file, upstream, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = max(1024, rate // 20)


def pump(source, target, slow):
    try:
        while True:
            data = source.recv(chunk)
            if not data:
                break
            target.sendall(data)
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
    serve(connection)
