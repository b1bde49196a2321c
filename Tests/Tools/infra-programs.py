#!/usr/bin/env python3
"""Runs the embedded infra programs as built by scripts/make-infra.sh --out DIR, for one
architecture, possibly under an emulator (qemu-aarch64-static for arm64 on an x86-64 host):

    infra-programs.py DIR ARCH [RUNNER]

The pause: says ready by closing fd 3, is named `pause`, exits 0 on SIGTERM. The forwarder:
says ready, is named `pod-forwarder`, relays 20 concurrent 50 KB connections from its listener
(fd 4) to an echo server at the port given as its argument, half-closes included. The logger:
says ready, is named `pod-logger`, copies its pipe (fd 4) to its log (fd 5) in its directory
(fd 6), rotating at the limit it is given, and exits 0 at the pipe's end. Exit 0 when all of
that holds, 1 with what did not."""
import fcntl, os, select, signal, socket, subprocess, sys, threading

directory, arch = sys.argv[1], sys.argv[2]
runner = sys.argv[3:]
failures = []


def start(program, args, listener=None, fds=None):
    """`fds`: descriptors to give the program, by the number it gets (4 and up)."""
    read_end, write_end = os.pipe()
    given = dict(fds or {})
    if listener is not None:
        given[4] = listener.fileno()
    def child():
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # not the mask of the thread that ran us
        # Copied above every target first, so that no dup2 overwrites a source still to come.
        moved = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 100) for target, source in given.items()}
        os.dup2(write_end, 3)
        for target in given:
            os.dup2(moved[target], target)
        # dup2 onto itself keeps close-on-exec: say it again whatever the numbers were.
        for fd in [3] + list(given):
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

import tempfile
logs = tempfile.mkdtemp()
data = os.urandom(2500)
pipe_read, pipe_write = os.pipe()
log = os.open(os.path.join(logs, "1.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
directory_fd = os.open(logs, os.O_RDONLY | os.O_DIRECTORY)
logger = start("logger", ["1000", "1.log"], fds={4: pipe_read, 5: log, 6: directory_fd})
for fd in (pipe_read, log, directory_fd):
    os.close(fd)
if name(logger) != "pod-logger":
    failures.append(f"logger: comm is {name(logger)!r}")
for at in range(0, len(data), 300):
    os.write(pipe_write, data[at:at + 300])
os.close(pipe_write)
try:
    status = logger.wait(20)
except subprocess.TimeoutExpired:
    logger.kill()
    status = "none: it did not end at the pipe's end"
if status != 0:
    failures.append(f"logger: exit {status} at the pipe's end")
def contents(name):
    with open(os.path.join(logs, name), "rb") as f:
        return f.read()
kept = contents("1.log.1") + contents("1.log")
if kept != data[1000:] or len(contents("1.log.1")) != 1000:
    failures.append(f"logger: kept {len(contents('1.log.1'))} + {len(contents('1.log'))} bytes, not the last 1000 + 500 written")
for entry in os.listdir(logs):
    os.unlink(os.path.join(logs, entry))
os.rmdir(logs)

for failure in failures:
    print(failure)
print(f"{arch}: {'ok' if not failures else 'FAILED'}")
sys.exit(1 if failures else 0)
