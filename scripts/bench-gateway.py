#!/usr/bin/env python3
"""The gateway's figures for scripts/bench.sh (issue 8), side by side in one run.

  connect   initialize + tools/list through `mcpm docker connect SERVER` to a warm
            shared server, against the same two requests to `docker run -i --rm
            IMAGE` (what a client would otherwise launch): target <= 0.1x.
  rate      sequential tools/call round trips per second through the gateway
            (one session over `connect`, and one over streamable HTTP), against
            the server's own stdio (a `docker run -i` of the same image):
            target >= 0.8x.
  rss       the gateway's resident memory serving 20 servers with 50 open
            sessions: target < 30 MB.

Usage: bench-gateway.py MCPM TIME_IMAGE ECHO_IMAGE [--runs N] [--calls N]
Plain JSON-RPC lines and http.client, no MCP SDK, so every path pays the same
client cost. Everything it creates (projects, containers, config dir) is removed.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def call(i):
    return {
        "jsonrpc": "2.0",
        "id": 100 + i,
        "method": "tools/call",
        "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}},
    }


class Line:
    """A child process spoken to in JSON lines."""

    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def answer(self, want_id):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"no answer to id {want_id}: the process ended")
            message = json.loads(line)
            if message.get("id") == want_id:
                if "error" in message:
                    raise RuntimeError(f"error answer: {message}")
                return message

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def handshake(line):
    line.send(INIT)
    line.answer(1)
    line.send(INITIALIZED)
    line.send(LIST)
    line.answer(2)


def timed_handshake(argv, env):
    start = time.perf_counter()
    line = Line(argv, env)
    handshake(line)
    elapsed = time.perf_counter() - start
    line.close()
    return elapsed


def rate(line, calls):
    start = time.perf_counter()
    for i in range(calls):
        line.send(call(i))
        line.answer(100 + i)
    return calls / (time.perf_counter() - start)


class HttpSession:
    """One streamable HTTP session to the gateway over one kept-alive
    connection, written and read by hand: http.client's own header handling
    costs more per request than the gateway does, and the figure is about the
    gateway. JSON answers (Content-Length) and event streams (chunked) both
    work; the session id comes from the initialize answer."""

    def __init__(self, url, token):
        rest = url.split("://", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stream = self.sock.makefile("rb")
        self.head = (
            f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        )
        self.session = ""

    def post(self, message):
        body = json.dumps(message).encode()
        request = self.head + self.session + f"Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(request.encode() + body)
        status = self.stream.readline()
        code = int(status.split()[1])
        headers = {}
        while True:
            line = self.stream.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = self.stream.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            payload = b""
            while True:
                size = int(self.stream.readline().strip(), 16)
                if size == 0:
                    self.stream.readline()
                    break
                payload += self.stream.read(size)
                self.stream.readline()
        else:
            payload = b""
        if code >= 400:
            raise RuntimeError(f"HTTP {code}: {payload[:200]!r}")
        if "mcp-session-id" in headers:
            self.session = f"Mcp-Session-Id: {headers['mcp-session-id']}\r\n"
        if "id" not in message:
            return None
        if headers.get("content-type", "").startswith("text/event-stream"):
            for line in payload.decode().splitlines():
                if line.startswith("data:"):
                    answer = json.loads(line[5:])
                    if answer.get("id") == message["id"]:
                        return answer
            raise RuntimeError("no answer in the event stream")
        return json.loads(payload)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mcpm")
    parser.add_argument("time_image")
    parser.add_argument("echo_image")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="mcpm-bench-gw-")
    config = os.path.join(work, "config")
    env = dict(os.environ, MCPM_CONFIG_DIR=config, NO_COLOR="1")
    project = f"mcpm-bench-gw-{os.getpid()}"
    echo_project = project + "-echo"
    mcpm = [os.path.abspath(args.mcpm)]

    def run(*argv):
        subprocess.run(mcpm + list(argv), cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)

    server_argv = ["mcp-server-time", "--local-timezone", "UTC"]
    with open(os.path.join(work, "time.toml"), "w") as f:
        f.write(
            f'name = "benchgw"\n[docker]\ncompose_file = "time.yaml"\nproject = "{project}"\n\n'
            f'[servers.time]\ncommand = "mcp-server-time"\nargs = ["--local-timezone", "UTC"]\n'
            f'[servers.time.docker]\nimage = "{args.time_image}"\n'
        )
    with open(os.path.join(work, "echo.toml"), "w") as f:
        f.write(f'name = "benchecho"\n[docker]\ncompose_file = "echo.yaml"\nproject = "{echo_project}"\n\n')
        for i in range(20):
            f.write(f'[servers.echo{i:02}]\ncommand = "mcp-echo"\n[servers.echo{i:02}.docker]\nimage = "{args.echo_image}"\n\n')

    try:
        run("docker", "sync", "time.toml", "--yes", "-q")
        run("docker", "deploy", "--profile", "time.toml", "--wait")
        run("docker", "gateway", "--profile", "time.toml", "--detach")
        connect = mcpm + ["docker", "connect", "time", "--profile", os.path.join(work, "time.toml")]
        direct = ["docker", "run", "-i", "--rm", "--network", "none", args.time_image] + server_argv

        # Warm both paths once (the page cache, the gateway's cached initialize).
        timed_handshake(connect, env)
        timed_handshake(direct, env)
        via_connect = [timed_handshake(connect, env) for _ in range(args.runs)]
        via_run = [timed_handshake(direct, env) for _ in range(args.runs)]
        c_ms = statistics.median(via_connect) * 1000
        r_ms = statistics.median(via_run) * 1000
        print(f"{'connect: initialize + tools/list, warm':44} {c_ms:8.1f} ms")
        print(f"{'  docker run -i --rm IMAGE, same requests':44} {r_ms:8.1f} ms")
        ratio = c_ms / r_ms
        print(f"{'  ratio (target <= 0.10x)':44} {ratio:8.3f}x {'ok' if ratio <= 0.1 else 'MISSED'}")

        # The three paths in alternating rounds, each on its own warm
        # session, and the median of the rounds: on two cores the chain of
        # processes (client, connect, gateway, dockerd, the server) makes a
        # single round noisy.
        with open(os.path.join(config, "gateway", project, "gateway.json")) as f:
            state = json.load(f)
        with open(state["token_file"]) as f:
            token = f.read().strip()
        direct_line = Line(direct, env)
        handshake(direct_line)
        connect_line = Line(connect, env)
        handshake(connect_line)
        session = HttpSession(state["url"] + "/servers/time/mcp", token)
        session.post(INIT)
        session.post(INITIALIZED)

        def http_rate(calls):
            start = time.perf_counter()
            for i in range(calls):
                session.post(call(i))
            return calls / (time.perf_counter() - start)

        for warm in (lambda: rate(direct_line, 20), lambda: rate(connect_line, 20), lambda: http_rate(20)):
            warm()
        rounds = {"direct": [], "connect": [], "http": []}
        per_round = max(args.calls // 5, 20)
        for _ in range(5):
            rounds["direct"].append(rate(direct_line, per_round))
            rounds["connect"].append(rate(connect_line, per_round))
            rounds["http"].append(http_rate(per_round))
        direct_line.close()
        connect_line.close()
        direct_rate = statistics.median(rounds["direct"])
        connect_rate = statistics.median(rounds["connect"])
        http_rate_value = statistics.median(rounds["http"])
        print(f"{'tools/call, server stdio (docker run -i)':44} {direct_rate:8.0f} /s")
        for name, value in (("through connect", connect_rate), ("through the gateway over HTTP", http_rate_value)):
            ratio = value / direct_rate
            verdict = "ok" if ratio >= 0.8 else "MISSED"
            print(f"{'tools/call, ' + name:44} {value:8.0f} /s  {ratio:5.2f}x (target >= 0.8x) {verdict}")
        run("docker", "gateway", "stop", "--profile", "time.toml")

        # 20 servers, 50 sessions held open over the gateway's socket.
        run("docker", "sync", "echo.toml", "--yes", "-q")
        run("docker", "deploy", "--profile", "echo.toml", "--wait")
        run("docker", "gateway", "--profile", "echo.toml", "--detach")
        with open(os.path.join(config, "gateway", echo_project, "gateway.json")) as f:
            state = json.load(f)
        sessions = []
        for i in range(50):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(state["socket"])
            stream = sock.makefile("rwb")
            stream.write((json.dumps({"mcpm_gateway": 1, "open": f"echo{i % 20:02}"}) + "\n").encode())
            stream.write((json.dumps(INIT) + "\n").encode())
            stream.flush()
            hello = json.loads(stream.readline())
            if not hello.get("ok"):
                raise RuntimeError(f"gateway refused a session: {hello}")
            json.loads(stream.readline())
            sessions.append((sock, stream))
        kib = rss_kib(state["pid"])
        verdict = "ok" if kib < 30 * 1024 else "MISSED"
        print(f"{'gateway RSS, 20 servers, 50 sessions':44} {kib / 1024:8.1f} MB (target < 30 MB) {verdict}")
        for sock, _ in sessions:
            sock.close()
        run("docker", "gateway", "stop", "--profile", "echo.toml")
    finally:
        for toml in ("time.toml", "echo.toml"):
            subprocess.run(mcpm + ["docker", "gateway", "stop", "--profile", toml], cwd=work, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(mcpm + ["docker", "down", "--profile", toml], cwd=work, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:
        print(f"bench-gateway: {err}", file=sys.stderr)
        sys.exit(1)
