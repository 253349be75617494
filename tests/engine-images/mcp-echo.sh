#!/bin/sh
# mcp-echo: a tiny MCP server over stdio, for mcpm's engine tests.
#
# Runs under busybox sh inside the mcpm-test/mcp-echo image (see
# scripts/test-engine.sh). It reads one JSON-RPC 2.0 message per line on
# stdin and writes one JSON object per line on stdout:
#
#   initialize                 -> protocolVersion (the client's, else
#                                 2025-06-18), capabilities {"tools":{}},
#                                 serverInfo mcp-echo 1.0.0
#   notifications/initialized  -> nothing (as for every message without id)
#   ping                       -> {}
#   tools/list                 -> one tool, "echo", taking {"text": string}
#   tools/call  name=echo      -> {"content":[{"type":"text","text":<text>}]}
#   anything else with an id   -> error -32601 (method not found)
#
# The id is echoed byte for byte, whether a number or a string. A line that
# is not a JSON object gets error -32700 (or -32600) with id null.
# It exits 0 when stdin closes, and at once on SIGTERM/SIGINT.
#
# Fields are pulled out by a small awk scanner (busybox awk) that follows
# the nesting of objects, arrays and strings, so key order and whitespace do
# not matter and an "id" or "method" inside params or inside a string is
# never taken for the top-level one. Each value comes back as its raw JSON
# text, so string escapes are passed through unchanged.

trap 'exit 0' TERM INT

# Prints six lines for the message on stdin:
#   status (ok | parse | notobject), raw id, raw method,
#   raw params.protocolVersion, raw params.name, raw params.arguments.text
# A field that is absent prints as an empty line.
extract() {
	awk '
	function fail() { bad = 1; pos = n + 1 }
	function ws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1))) pos++ }
	# value at pos; path names where it sits (e.g. ".params.name")
	function value(path,    c, start) {
		ws()
		if (pos > n) { fail(); return }
		c = substr(s, pos, 1)
		start = pos
		if (c == "{") { object(path); return }
		if (c == "[") { array(path); return }
		if (c == "\"") { str(); if (!bad) got[path] = substr(s, start, pos - start); return }
		while (pos <= n && index("0123456789+-.eEtruefalsn", substr(s, pos, 1))) pos++
		if (pos == start) { fail(); return }
		got[path] = substr(s, start, pos - start)
	}
	# string at pos (an opening quote); leaves pos after the closing quote
	function str(    c) {
		pos++
		while (pos <= n) {
			c = substr(s, pos, 1)
			if (c == "\\") { pos += 2; continue }
			pos++
			if (c == "\"") return
		}
		fail()
	}
	function object(path,    start, key) {
		pos++
		ws()
		if (substr(s, pos, 1) == "}") { pos++; return }
		while (!bad) {
			ws()
			if (substr(s, pos, 1) != "\"") { fail(); return }
			start = pos
			str()
			if (bad) return
			key = substr(s, start + 1, pos - start - 2)
			ws()
			if (substr(s, pos, 1) != ":") { fail(); return }
			pos++
			value(path "." key)
			if (bad) return
			ws()
			if (substr(s, pos, 1) == ",") { pos++; continue }
			if (substr(s, pos, 1) == "}") { pos++; return }
			fail()
		}
	}
	function array(path,    i) {
		pos++
		ws()
		if (substr(s, pos, 1) == "]") { pos++; return }
		for (i = 0; !bad; i++) {
			value(path "[" i "]")
			if (bad) return
			ws()
			if (substr(s, pos, 1) == ",") { pos++; continue }
			if (substr(s, pos, 1) == "]") { pos++; return }
			fail()
		}
	}
	{ s = s $0 "\n" }
	END {
		n = length(s); pos = 1; bad = 0
		ws()
		first = substr(s, pos, 1)
		value("")
		if (!bad) { ws(); if (pos <= n) bad = 1 }
		if (bad) status = "parse"
		else if (first != "{") status = "notobject"
		else status = "ok"
		print status
		print got[".id"]
		print got[".method"]
		print got[".params.protocolVersion"]
		print got[".params.name"]
		print got[".params.arguments.text"]
	}'
}

reply() { printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$1" "$2"; }
error() { printf '{"jsonrpc":"2.0","id":%s,"error":{"code":%s,"message":"%s"}}\n' "$1" "$2" "$3"; }
unquote() { v=${1#\"}; printf '%s' "${v%\"}"; }

cr=$(printf '\r')
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%"$cr"}
	case $line in *[![:space:]]*) ;; *) continue ;; esac

	{
		IFS= read -r status
		IFS= read -r id
		IFS= read -r method
		IFS= read -r proto
		IFS= read -r tool
		IFS= read -r text
	} <<EOF
$(printf '%s\n' "$line" | extract)
EOF

	case $status in
	parse) error null -32700 "Parse error"; continue ;;
	notobject) error null -32600 "Invalid Request"; continue ;;
	esac
	case $method in
	\"*\") method=$(unquote "$method") ;;
	*) [ -n "$id" ] && error "$id" -32600 "Invalid Request"; continue ;;
	esac
	# No id: a notification (notifications/initialized among them); never answered.
	[ -n "$id" ] || continue

	case $method in
	initialize)
		case $proto in \"*\") ;; *) proto='"2025-06-18"' ;; esac
		reply "$id" '{"protocolVersion":'"$proto"',"capabilities":{"tools":{}},"serverInfo":{"name":"mcp-echo","version":"1.0.0"}}'
		;;
	ping)
		reply "$id" '{}'
		;;
	tools/list)
		reply "$id" '{"tools":[{"name":"echo","description":"Echoes back the text it is given","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}]}'
		;;
	tools/call)
		if [ "$tool" != '"echo"' ]; then
			error "$id" -32602 "Unknown tool: $(unquote "$tool")"
		else
			case $text in
			\"*\") reply "$id" '{"content":[{"type":"text","text":'"$text"'}]}' ;;
			*) error "$id" -32602 "Invalid params: arguments.text must be a string" ;;
			esac
		fi
		;;
	*)
		error "$id" -32601 "Method not found: $method"
		;;
	esac
done
exit 0
