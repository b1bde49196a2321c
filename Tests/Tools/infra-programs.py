#!/usr/bin/env python3
"""Runs the embedded infra programs as built by scripts/make-infra.sh --out DIR, for one
architecture, possibly under an emulator (qemu-aarch64-static for arm64 on an x86-64 host):

    infra-programs.py DIR ARCH [RUNNER]

The pause: says ready by closing fd 3, is named `pause`, exits 0 on SIGTERM. The forwarder:
says ready, is named `pod-forwarder`, relays 20 concurrent 50 KB connections from its listener
(fd 4) to an echo server at the port given as its argument, half-closes included. Exit 0 when
all of that holds, 1 with what did not."""
import os, select, signal, socket, subprocess, sys, threading

directory, arch = sys.argv[1], sys.argv[2]
runner = sys.argv[3:]
failures = []


def start(program, args, listener=None):
    read_end, write_end = os.pipe()
    def child():
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # not the mask of the thread that ran us
        os.dup2(write_end, 3)
        if listener is not None:
            os.dup2(listener.fileno(), 4)
        # dup2 onto itself keeps close-on-exec: say it again whatever the numbers were.
        for fd in (3, 4) if listener is not None else (3,):
            os.set_inheritable(fd, True)
    process = subprocess.Popen(runner + [os.path.join(directory, f"{program}-{arch}")] + args,
                               preexec_fn=child, close_fds=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 10)
    said = os.read(read_end, 16) if ready else None
    os.close(read_end)
    if said != b"":
        failures.append(f"{program}: not ready (read {said!r})")
    return process


def name(process):
    with open(f"/proc/{process.pid}/comm") as f:
        return f.read().strip()


pause = start("pause", [])
if name(pause) != "pause":
    failures.append(f"pause: comm is {name(pause)!r}")
def stop(process):
    process.terminate()
    try:
        return process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "none: SIGTERM did not end it"


status = stop(pause)
if status != 0:
    failures.append(f"pause: exit {status} on SIGTERM")

echo = socket.socket()
echo.bind(("127.0.0.1", 0))
echo.listen(64)
def serve():
    while True:
        connection, _ = echo.accept()
        def answer(c):
            while True:
                data = c.recv(65536)
                if not data:
                    c.shutdown(socket.SHUT_WR)
                    c.close()
                    return
                c.sendall(data)
        threading.Thread(target=answer, args=(connection,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
listener.setblocking(False)  # as podspawn_forwarder's setup leaves it
forwarder = start("forwarder", [str(echo.getsockname()[1])], listener)
if name(forwarder) != "pod-forwarder":
    failures.append(f"forwarder: comm is {name(forwarder)!r}")
good = []
def client():
    data = os.urandom(50000)
    with socket.create_connection(listener.getsockname(), timeout=20) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    if got == data:
        good.append(1)
clients = [threading.Thread(target=client) for _ in range(20)]
for c in clients:
    c.start()
for c in clients:
    c.join(30)
if len(good) != 20:
    failures.append(f"forwarder: {len(good)} of 20 connections echoed whole")
status = stop(forwarder)
if status != -signal.SIGTERM:
    failures.append(f"forwarder: {status} on SIGTERM (the default action ends it)")

for failure in failures:
    print(failure)
print(f"{arch}: {'ok' if not failures else 'FAILED'}")
sys.exit(1 if failures else 0)
