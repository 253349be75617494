"""A real MCP client for mcpm's end-to-end tests: the official Python SDK (`mcp`).

It connects to one server, either by launching a stdio command (what an MCP client
does with the entry `mcpm client add` writes) or over streamable HTTP (the gateway's
URL with its bearer token), lists the tools, calls some, and prints one JSON object
on stdout:

    {"protocol": "...", "server": "...", "tools": [...], "calls": [...], "clients": N}

Usage:
    sdk_client.py [--mode auto|legacy] [--clients N] [--call TOOL=JSON]... [--hold S]
                  (stdio COMMAND ARG... | http URL TOKEN)

--clients N runs N clients at once, each with its own session; a `--call` argument
value may contain {i}, replaced by the client's index, so each client can check that
it got its own answer back. --hold S keeps each session open S seconds after the
calls (tests kill the process then). Exit 1 with the error on stderr on failure.
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp import Client, StdioServerParameters


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--call", action="append", default=[])
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def target(args):
    if args.transport == "stdio":
        if not args.rest:
            sys.exit("stdio needs a command")
        return StdioServerParameters(command=args.rest[0], args=args.rest[1:])
    if len(args.rest) != 2:
        sys.exit("http needs URL TOKEN")
    url, token = args.rest
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=args.timeout)
    return streamable_http_client(url, http_client=http)


async def one_client(args, index):
    calls = []
    async with Client(target(args), mode=args.mode, read_timeout_seconds=args.timeout) as client:
        tools = await client.list_tools()
        for spec in args.call:
            name, _, raw = spec.partition("=")
            arguments = json.loads(raw.replace("{i}", str(index))) if raw else {}
            result = await client.call_tool(name, arguments)
            calls.append(
                {
                    "tool": name,
                    "arguments": arguments,
                    "is_error": bool(result.is_error),
                    "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
                    "structured": result.structured_content,
                }
            )
        if args.hold:
            await asyncio.sleep(args.hold)
        info = client.server_info
        return {
            "protocol": client.protocol_version,
            "server": info.name if info else None,
            "tools": sorted(t.name for t in tools.tools),
            "calls": calls,
        }


async def main(argv):
    args = parse_args(argv)
    results = await asyncio.wait_for(
        asyncio.gather(*(one_client(args, i) for i in range(args.clients))),
        timeout=args.timeout * 2,
    )
    if args.clients == 1:
        out = dict(results[0], clients=1)
    else:
        out = {"clients": args.clients, "results": results}
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except Exception as err:  # the test shows this, so say what failed
        # anyio wraps failures in exception groups: name the ones inside.
        pending, leaves = [err], []
        while pending:
            current = pending.pop()
            if isinstance(current, BaseExceptionGroup):
                pending.extend(current.exceptions)
            else:
                leaves.append(current)
        for leaf in leaves:
            print(f"sdk_client: {type(leaf).__name__}: {leaf}", file=sys.stderr)
        sys.exit(1)
