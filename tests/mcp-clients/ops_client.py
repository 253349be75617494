"""An agent for `mcpm mcp serve` in mcpm's tests: the official Python SDK (`mcp`).

It connects (launching a stdio command, or over streamable HTTP with a bearer
token), lists the tools, makes the calls given in order, and prints one JSON
object on stdout:

    {"protocol": "...", "server": "...", "tools": [{name, annotations, inputSchema,
     outputSchema, description}], "calls": [{tool, is_error, text, structured} or
     {tool, error: {code, message}}]}

A call refused with a JSON-RPC error (a role too low, bad arguments) is recorded
as such and the next call goes on. Connecting or listing failing exits 1 with the
error on stderr.

Usage:
    ops_client.py [--call TOOL=JSON]... (stdio COMMAND ARG... | http URL TOKEN)
"""

import argparse
import asyncio
import json
import sys
import traceback

import httpx2
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError


def target(args):
    if args.transport == "stdio":
        return StdioServerParameters(command=args.rest[0], args=args.rest[1:])
    url, token = args.rest
    from mcp.client.streamable_http import streamable_http_client

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    return streamable_http_client(url, http_client=http)


async def run(args):
    calls = []
    async with Client(target(args), mode="legacy", read_timeout_seconds=120) as client:
        listed = await client.list_tools()
        tools = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in listed.tools]
        for spec in args.call:
            name, _, raw = spec.partition("=")
            arguments = json.loads(raw) if raw else {}
            try:
                result = await client.call_tool(name, arguments)
            except MCPError as err:
                calls.append({"tool": name, "error": {"code": err.code, "message": err.message}})
                continue
            calls.append(
                {
                    "tool": name,
                    "is_error": bool(result.is_error),
                    "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
                    "structured": result.structured_content,
                }
            )
        info = client.server_info
        return {
            "protocol": client.protocol_version,
            "server": info.name if info else None,
            "tools": tools,
            "calls": calls,
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--call", action="append", default=[])
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    try:
        out = asyncio.run(run(args))
    except BaseException as err:  # noqa: BLE001 - the test wants every failure as text
        traceback.print_exception(err, file=sys.stderr)
        print(f"ops_client.py: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
