#!/usr/bin/env python3
"""Writes a benchmark profile of N servers to stdout.

The mix follows real MCP client configs: npx and uvx packages (catalog and
generic), docker run lines, remote servers, env with interpolations, a few
literal secrets, volumes and resources. Deterministic for a given N.
"""
import sys


def server(i: int) -> str:
    kind = i % 8
    name = f"srv-{i:04d}"
    if kind == 0:
        return f'[servers.{name}]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-filesystem", "/data/p{i}"]\n'
    if kind == 1:
        return f'[servers.{name}]\ncommand = "uvx"\nargs = ["mcp-server-fetch", "--user-agent", "bench-{i}"]\n'
    if kind == 2:
        return (f'[servers.{name}]\ncommand = "docker"\nargs = ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", '
                f'"-v", "/srv/{i}:/work:ro", "ghcr.io/github/github-mcp-server"]\n'
                f'env = {{ GITHUB_PERSONAL_ACCESS_TOKEN = "${{GH_TOKEN_{i}}}" }}\n')
    if kind == 3:
        return f'[servers.{name}]\ncommand = "npx"\nargs = ["-y", "@acme/mcp-tool-{i}@1.{i}.0", "--port", "{3000 + i}"]\nenv = {{ LOG_LEVEL = "info", API_KEY = "sk-bench-{i}" }}\n'
    if kind == 4:
        return f'[servers.{name}]\ncommand = "uvx"\nargs = ["--from", "bench-mcp-{i}==0.{i}", "bench-mcp"]\nresources = {{ memory = "128m", cpus = 0.5, pids = 64 }}\n'
    if kind == 5:
        return f'[servers.{name}]\nurl = "https://mcp{i}.example.com/mcp"\nheaders = {{ Authorization = "Bearer ${{TOKEN_{i}}}" }}\n'
    if kind == 6:
        return f'[servers.{name}]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-memory"]\nstrategy = "on-demand"\nvolumes = ["mem-{i}:/app/dist"]\n'
    return f'[servers.{name}]\ncommand = "python"\nargs = ["-m", "bench_server_{i}"]\n[servers.{name}.docker]\nimage = "registry.example.com/bench/{i}:1"\n'


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    out = [f'name = "bench{count}"\ndescription = "{count} servers for the benchmark"\n']
    out.extend(server(i) for i in range(count))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
