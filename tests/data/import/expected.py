#!/usr/bin/env python3
"""Independent counts for the import fixtures (tests/import_test.cc cites
this script's output). It does not share code or logic with the importer:
it reads the transcripts with the json module and applies the rules of
../shared/reference/transcripts.md directly."""
import json, re, sys

def lines(path):
    for raw in open(path, encoding="utf-8"):
        try:
            yield json.loads(raw)
        except ValueError:
            yield None

def n(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0

def claude(path):
    calls, order = {}, []
    tools = results = failures = errors = 0
    for o in lines(path):
        if not isinstance(o, dict):
            continue
        m = o.get("message") or {}
        if o.get("type") == "assistant":
            if m.get("model") == "<synthetic>" or o.get("isApiErrorMessage"):
                errors += 1
                continue
            key = (m.get("id"), o.get("requestId"))
            if key not in calls:
                order.append(key)
            calls[key] = m.get("usage") or {}          # last line wins
            tools += sum(1 for b in m.get("content") or [] if b.get("type") == "tool_use")
        elif o.get("type") == "user" and isinstance(m.get("content"), list):
            for b in m["content"]:
                if b.get("type") == "tool_result":
                    results += 1
                    text = b.get("content") if isinstance(b.get("content"), str) else ""
                    if b.get("is_error"):
                        failures += 1
                        if "hook" in text and ("blocked" in text or "hook error" in text):
                            errors += 1
                if b.get("type") == "text" and b.get("text", "").startswith("[Request interrupted by user"):
                    errors += 1
    u = {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
         "cache_creation_input_tokens": 0}
    for k in order:
        x = calls[k]
        r, c = n(x.get("cache_read_input_tokens")), n(x.get("cache_creation_input_tokens"))
        u["input_tokens"] += n(x.get("input_tokens")) + r + c
        u["output_tokens"] += n(x.get("output_tokens"))
        u["cache_read_input_tokens"] += r
        u["cache_creation_input_tokens"] += c
    return dict(model_calls=len(order), tool_calls=tools, tool_results=results,
                tool_failures=failures, errors=errors, usage=u)

FAIL = re.compile(r"^(apply_patch verification failed|error: Failed to find expected lines)|failed in sandbox")
def codex_failed(output):
    try:
        o = json.loads(output)
        if isinstance(o, dict) and "metadata" in o:
            return o["metadata"].get("exit_code") != 0
    except ValueError:
        pass
    m = re.match(r"Exit code: (-?\d+)", output) or re.search(r"Process exited with code (-?\d+)", output)
    if m:
        return int(m.group(1)) != 0
    return bool(FAIL.search(output))

def codex(path):
    tools = results = failures = steps = errors = 0
    last_total = total = None
    for o in lines(path):
        if not isinstance(o, dict):
            continue
        item = o.get("payload") if "payload" in o else o
        t = o.get("type")
        if t == "event_msg":
            p = item
            if p.get("type") == "token_count" and p.get("info"):
                tt = p["info"].get("total_token_usage")
                if tt != last_total:
                    steps += 1
                last_total = tt
            if p.get("type") in ("turn_aborted", "error"):
                errors += 1
            continue
        it = item.get("type") if isinstance(item, dict) else None
        if it in ("function_call", "custom_tool_call", "local_shell_call"):
            tools += 1
        elif it in ("function_call_output", "custom_tool_call_output"):
            results += 1
            failures += codex_failed(item.get("output", ""))
    tot = None
    if last_total:
        tot = {"input_tokens": n(last_total["input_tokens"]), "output_tokens": n(last_total["output_tokens"]),
               "cache_read_input_tokens": n(last_total["cached_input_tokens"]),
               "reasoning_output_tokens": n(last_total["reasoning_output_tokens"])}
    return dict(model_calls=steps, tool_calls=tools, tool_results=results,
                tool_failures=failures, errors=errors, run_usage=tot)

for path in sys.argv[1:]:
    print(path, json.dumps(claude(path) if "claude" in path else codex(path)))
