"""Soak of `mantle-host serve`: streams for a while, with attacks alongside.

Starts `mantle-host emulate` (the upstream, its own process) and `mantle-host serve` in front
of it with at most NOFILE file descriptors, then for SECS seconds runs at once:

- STREAMS clients, each on one kept-alive connection, sending streaming chat completions back
  to back; a request counts as completed when its stream ends with `data: [DONE]`;
- slow clients (SLOW of them): half send a request head a byte at a time, half send a head
  with the gateway key and then dribble the body; each starts again once the gateway closes;
- an fd-exhaustion attack: up to FD_ATTACK idle connections, reopened as the gateway closes
  them, more than the gateway has descriptors for.

SOAK_MAX_INSTANCES sets `--max-instances` (default 256). Prints what the clients saw, what the attackers got, and the gateway's resident memory
before, at its peak, and after. Run through `scripts/soak`.
"""

import asyncio
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

EXE = sys.argv[1]
SECS = int(os.environ.get("SOAK_SECS", "60"))
STREAMS = int(os.environ.get("SOAK_STREAMS", "200"))
SLOW = int(os.environ.get("SOAK_SLOW", "50"))
FD_ATTACK = int(os.environ.get("SOAK_FD_ATTACK", "1200"))
NOFILE = int(os.environ.get("SOAK_NOFILE", "1024"))
MAX_INSTANCES = os.environ.get("SOAK_MAX_INSTANCES", "256")
KEY = "soak-gateway-key"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def wait_for_line(path, prefix, proc, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{prefix!r} never came; the process exited:\n{open(path).read()}")
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line
        time.sleep(0.2)
    sys.exit(f"{prefix!r} never came:\n{open(path).read()}")


def url_in(line):
    return next(w for w in line.split() if w.startswith("http://"))


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = bytearray()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += (await reader.readexactly(size + 2))[:-2]
    elif "content-length" in headers:
        body += await reader.readexactly(int(headers["content-length"]))
    return status, headers, bytes(body)


class Stats:
    def __init__(self):
        self.completed = 0
        self.errors = collections.Counter()
        self.attack = collections.Counter()


async def streamer(host, port, stats, stop):
    body = json.dumps({"model": "openai.gpt-oss-120b", "stream": True,
                       "messages": [{"role": "user", "content": "Hi"}]}).encode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\n"
               f"authorization: Bearer {KEY}\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n").encode() + body
    reader = writer = None
    while not stop.is_set():
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
            writer.write(request)
            status, headers, data = await asyncio.wait_for(read_response(reader), 30)
            if status == 200 and data.rstrip().endswith(b"data: [DONE]"):
                stats.completed += 1
            elif status != 200:
                try:
                    code = json.loads(data)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
                stats.errors[f"HTTP {status} {code}"] += 1
            else:
                stats.errors["stream without [DONE]"] += 1
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except Exception as e:  # noqa: BLE001 - every failure is counted by its kind
            stats.errors[type(e).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
            # A client that retries after a failure, not at once (the load's shape).
            await asyncio.sleep(0.05)


async def slow_client(host, port, stats, stop, body_attack):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except Exception as e:  # noqa: BLE001
            stats.attack[f"slow connect {type(e).__name__}"] += 1
            # An attacker that retries after a refused connect, not at once (the load's shape).
            await asyncio.sleep(0.2)
            continue
        if body_attack:
            head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\n"
                    f"authorization: Bearer {KEY}\r\ncontent-length: 100000\r\n\r\n").encode()
            drip = b"{"
        else:
            head = b""
            drip = b"X"
        closed = asyncio.ensure_future(reader.read())
        try:
            writer.write(head)
            while not stop.is_set() and not closed.done():
                writer.write(drip)
                await writer.drain()
                await asyncio.wait([closed], timeout=0.5)
            if closed.done():
                answer = closed.result()
                kind = answer[:12].decode("latin-1") if answer else "closed silently"
                stats.attack[f"{'slow body' if body_attack else 'slow head'}: {kind}"] += 1
        except Exception as e:  # noqa: BLE001
            stats.attack[f"slow {type(e).__name__}"] += 1
        closed.cancel()
        writer.close()


async def fd_attack(host, port, stats, stop):
    open_now = set()

    async def hold(reader, writer):
        try:
            await reader.read()
            stats.attack["idle connection closed by the gateway"] += 1
        finally:
            writer.close()
            open_now.discard(writer)

    tasks = []
    while not stop.is_set():
        if len(open_now) >= FD_ATTACK:
            # Polls until the gateway closes one of the held connections.
            await asyncio.sleep(0.05)
            continue
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        except Exception:  # noqa: BLE001
            stats.attack["idle connect failed"] += 1
            # An attacker that retries after a refused connect, not at once (the load's shape).
            await asyncio.sleep(0.05)
            continue
        open_now.add(writer)
        tasks.append(asyncio.ensure_future(hold(reader, writer)))
        stats.attack["idle connections opened"] += 1
    for w in list(open_now):
        w.close()
    for t in tasks:
        t.cancel()


async def load(host, port, pid):
    stats = Stats()
    stop = asyncio.Event()
    workers = [asyncio.ensure_future(streamer(host, port, stats, stop)) for _ in range(STREAMS)]
    # The streams get going (and the pool fills) for a set time before the attacks start:
    # a phase of the measurement, reported as completed_before_attacks.
    await asyncio.sleep(3)
    warm = stats.completed
    attackers = [asyncio.ensure_future(slow_client(host, port, stats, stop, i % 2 == 0))
                 for i in range(SLOW)]
    attackers.append(asyncio.ensure_future(fd_attack(host, port, stats, stop)))
    started = time.time()
    samples = []
    while time.time() - started < SECS:
        # The sampling period of the figures printed.
        await asyncio.sleep(5)
        samples.append((round(time.time() - started), stats.completed, rss_kib(pid)))
    stop.set()
    await asyncio.gather(*workers, *attackers, return_exceptions=True)
    return stats, warm, samples


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="mantle-soak-")
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
           "MANTLE_GATEWAY_KEY": KEY}
    for name in ("MANTLE_FACE", "MANTLE_COMPONENT", "CARGO"):
        if name in os.environ:
            env[name] = os.environ[name]
    emu_log = os.path.join(tmp, "emulate.log")
    emulator = subprocess.Popen([EXE, "emulate", "--listen", "127.0.0.1:0"], env=env,
                                stdout=subprocess.DEVNULL, stderr=open(emu_log, "w"))
    upstream = url_in(wait_for_line(emu_log, "Mantle emulator", emulator))
    config = os.path.join(tmp, "config.json5")
    with open(config, "w") as f:
        f.write('{ models: { providers: { "amazon-bedrock-mantle": { baseUrl: "%s" } } } }'
                % upstream)
    serve_log = os.path.join(tmp, "serve.log")

    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    gateway = subprocess.Popen(
        [EXE, "serve", "--listen", "127.0.0.1:0", "--config", config,
         "--header-timeout", "5", "--body-timeout", "5", "--max-connections", "100000",
         "--max-instances", MAX_INSTANCES],
        env=env, stdout=subprocess.DEVNULL, stderr=open(serve_log, "w"), preexec_fn=limit_fds)
    try:
        address = url_in(wait_for_line(serve_log, "OpenAI-compatible gateway at", gateway))
        host, port = address[len("http://"):].split("/")[0].rsplit(":", 1)
        rss_before = rss_kib(gateway.pid)
        stats, warm, samples = asyncio.run(load(host, int(port), gateway.pid))
        # The "after" figure is the memory 10 s after the load stopped: what the gateway kept.
        time.sleep(10)
        rss_after = rss_kib(gateway.pid)
        peak = rss_kib(gateway.pid, "VmHWM")
        alive = gateway.poll() is None
        with open(serve_log) as f:
            log = f.read()
        result = {
            "seconds": SECS, "streams": STREAMS, "slow_clients": SLOW,
            "fd_attack_connections": FD_ATTACK, "gateway_nofile": NOFILE,
            "max_instances": MAX_INSTANCES,
            "completed": stats.completed, "completed_before_attacks": warm,
            "errors": dict(stats.errors), "attack": dict(stats.attack),
            "accept_failures_logged": log.count("accept failed"),
            "rss_kib_before": rss_before, "rss_kib_peak": peak, "rss_kib_after": rss_after,
            "samples_secs_completed_rss_kib": samples, "gateway_alive": alive,
        }
        print(json.dumps(result, indent=2))
    finally:
        gateway.terminate()
        emulator.terminate()
        gateway.wait()
        emulator.wait()


if __name__ == "__main__":
    main()
