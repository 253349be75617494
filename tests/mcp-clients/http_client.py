"""Talks to an MCP streamable-HTTP endpoint with the official Python SDK and
prints what it got as one JSON object, for mcpm's tests.

usage: http_client.py URL TOKEN [--mode auto|legacy|2026-07-28]
                      [--call TOOL] [--args JSON]

Connects with `Authorization: Bearer TOKEN` (an httpx2 client carrying the
header, the SDK's documented way to add headers), lists the tools, calls
`--call` (default: the first tool) with `--args`, and prints
{"protocol_version", "server_info", "tools", "call"}. `--mode auto` (the
SDK's default) probes `server/discover` and speaks 2026-07-28 when the
server offers it; `legacy` forces the initialize handshake. Any failure is
printed to stderr and exits 1.
"""

import argparse
import asyncio
import json
import sys
import traceback

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def run(url: str, token: str, mode: str, call: str | None, args: dict) -> dict:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, cache=None) as client:
            tools = await client.list_tools()
            names = [tool.name for tool in tools.tools]
            name = call or (names[0] if names else None)
            result = None
            if name is not None:
                called = await client.call_tool(name, args)
                result = called.model_dump(by_alias=True, mode="json", exclude_none=True)
            info = client.server_info
            return {
                "protocol_version": client.protocol_version,
                "server_info": info.model_dump(by_alias=True, mode="json", exclude_none=True) if info else None,
                "tools": names,
                "call": result,
            }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--call")
    parser.add_argument("--args", default="{}")
    options = parser.parse_args()
    try:
        out = asyncio.run(run(options.url, options.token, options.mode, options.call, json.loads(options.args)))
    except BaseException as err:  # noqa: BLE001 - the test wants every failure as text
        traceback.print_exception(err, file=sys.stderr)
        print(f"http_client.py: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
