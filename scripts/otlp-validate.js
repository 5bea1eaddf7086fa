#!/usr/bin/env node
// Validates `traceframe export --format otlp-json` output with the official
// OTLP protobuf definitions (docs/otel.md, "Validation"): every line must
// decode as an opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest
// (the generated root shipped by @opentelemetry/otlp-transformer, run by
// protobufjs) and round-trip unchanged, and must follow the OTLP/JSON encoding
// rules that decoding alone does not check: protobufjs' fromObject drops
// unknown keys, reads enum names as well as numbers, and would read a hex id
// as base64. So this also compares key sets with the message fields, and
// checks id formats, int64-as-string and integer enums.
//
// Usage: NODE_PATH=<dir>/node_modules node otlp-validate.js SCHEMA_URL FILE...
'use strict';
const fs = require('fs');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const pb = root.opentelemetry.proto;
const T = {
  Request: pb.collector.trace.v1.ExportTraceServiceRequest,
  ResourceSpans: pb.trace.v1.ResourceSpans,
  ScopeSpans: pb.trace.v1.ScopeSpans,
  Span: pb.trace.v1.Span,
  Event: pb.trace.v1.Span.Event,
  Link: pb.trace.v1.Span.Link,
  Status: pb.trace.v1.Status,
  Resource: pb.resource.v1.Resource,
  Scope: pb.common.v1.InstrumentationScope,
  KeyValue: pb.common.v1.KeyValue,
  AnyValue: pb.common.v1.AnyValue,
  ArrayValue: pb.common.v1.ArrayValue,
  KeyValueList: pb.common.v1.KeyValueList,
};
// Message-typed fields: field -> [type name, repeated].
const CHILDREN = {
  Request: { resourceSpans: ['ResourceSpans', true] },
  ResourceSpans: { resource: ['Resource', false], scopeSpans: ['ScopeSpans', true] },
  ScopeSpans: { scope: ['Scope', false], spans: ['Span', true] },
  Resource: { attributes: ['KeyValue', true] },
  Scope: { attributes: ['KeyValue', true] },
  Span: {
    attributes: ['KeyValue', true], events: ['Event', true], links: ['Link', true],
    status: ['Status', false],
  },
  Event: { attributes: ['KeyValue', true] },
  Link: { attributes: ['KeyValue', true] },
  KeyValue: { value: ['AnyValue', false] },
  AnyValue: { arrayValue: ['ArrayValue', false], kvlistValue: ['KeyValueList', false] },
  ArrayValue: { values: ['AnyValue', true] },
  KeyValueList: { values: ['KeyValue', true] },
};
const HEX_IDS = { traceId: 32, spanId: 16, parentSpanId: 16 };
const NANOS = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano']);
const ENUMS = { 'Span.kind': [0, 5], 'Status.code': [0, 2] };
const UINT32 = new Set([
  'droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount',
]);

// The proto field names of a generated message class (own data properties of
// its prototype; oneof accessors and methods left out).
function fieldsOf(type) {
  return new Set(Object.getOwnPropertyNames(type.prototype).filter((k) => {
    const d = Object.getOwnPropertyDescriptor(type.prototype, k);
    return 'value' in d && typeof d.value !== 'function';
  }));
}
const FIELDS = Object.fromEntries(Object.entries(T).map(([n, t]) => [n, fieldsOf(t)]));

function check(value, typeName, where, problems) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where}: expected an object for ${typeName}`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const at = `${where}.${key}`;
    if (!FIELDS[typeName].has(key)) {
      problems.push(`${at}: not a field of ${typeName} (lowerCamelCase proto field names only)`);
      continue;
    }
    const child = (CHILDREN[typeName] || {})[key];
    if (child) {
      const [childType, repeated] = child;
      if (repeated) {
        if (!Array.isArray(v)) problems.push(`${at}: expected an array`);
        else v.forEach((item, i) => check(item, childType, `${at}[${i}]`, problems));
      } else {
        check(v, childType, at, problems);
      }
      continue;
    }
    if (key in HEX_IDS) {
      const n = HEX_IDS[key];
      if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${n}}$`).test(v)) {
        problems.push(`${at}: expected ${n} lowercase hex digits, got ${JSON.stringify(v)}`);
      } else if (/^0+$/.test(v)) {
        problems.push(`${at}: all-zero id`);
      }
    } else if (NANOS.has(key) || (typeName === 'AnyValue' && key === 'intValue')) {
      const re = key === 'intValue' ? /^-?(0|[1-9][0-9]*)$/ : /^(0|[1-9][0-9]*)$/;
      if (typeof v !== 'string' || !re.test(v)) {
        problems.push(`${at}: 64-bit integers are decimal strings, got ${JSON.stringify(v)}`);
      }
    } else if (`${typeName}.${key}` in ENUMS) {
      const [lo, hi] = ENUMS[`${typeName}.${key}`];
      if (!Number.isInteger(v) || v < lo || v > hi) {
        problems.push(`${at}: enums are integers in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
      }
    } else if (UINT32.has(key)) {
      if (!Number.isInteger(v) || v < 0) problems.push(`${at}: expected an unsigned integer`);
    } else if (['name', 'key', 'message', 'schemaUrl', 'version', 'stringValue', 'traceState']
      .includes(key)) {
      if (typeof v !== 'string') problems.push(`${at}: expected a string`);
    } else if (key === 'boolValue') {
      if (typeof v !== 'boolean') problems.push(`${at}: expected a boolean`);
    } else if (key === 'doubleValue') {
      if (typeof v !== 'number') problems.push(`${at}: expected a number`);
    }
  }
  if (typeName === 'AnyValue' && Object.keys(value).length !== 1) {
    problems.push(`${where}: an AnyValue holds exactly one value`);
  }
}

// Hex ids -> bytes, as the Collector's OTLP/JSON reader does, so that
// fromObject does not read them as base64.
function toProtoObject(value, key) {
  if (Array.isArray(value)) return value.map((v) => toProtoObject(v, key));
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toProtoObject(v, k);
    return out;
  }
  if (key in HEX_IDS && typeof value === 'string') return Buffer.from(value, 'hex');
  return value;
}
function fromDecoded(value, key) {
  if (key in HEX_IDS) return Buffer.from(value, 'base64').toString('hex');
  if (Array.isArray(value)) return value.map((v) => fromDecoded(v, key));
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromDecoded(v, k);
    return out;
  }
  return value;
}
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

// Trace-level facts: one trace id per request, unique span ids, parents that
// exist, exactly one root (the invoke_agent span), operation names.
function checkTrace(request, schemaUrl, where, problems) {
  const spans = [];
  for (const rs of request.resourceSpans || []) {
    if (rs.schemaUrl !== schemaUrl) problems.push(`${where}: resourceSpans.schemaUrl is not ${schemaUrl}`);
    for (const ss of rs.scopeSpans || []) {
      if (ss.schemaUrl !== schemaUrl) problems.push(`${where}: scopeSpans.schemaUrl is not ${schemaUrl}`);
      spans.push(...(ss.spans || []));
    }
  }
  if (spans.length === 0) problems.push(`${where}: no spans`);
  const ids = new Set(spans.map((s) => s.spanId));
  if (ids.size !== spans.length) problems.push(`${where}: duplicate span ids`);
  if (new Set(spans.map((s) => s.traceId)).size > 1) problems.push(`${where}: several trace ids`);
  const roots = spans.filter((s) => !s.parentSpanId);
  if (roots.length !== 1 || !roots[0].name.startsWith('invoke_agent')) {
    problems.push(`${where}: expected exactly one root span, the invoke_agent span`);
  }
  for (const s of spans) {
    if (s.parentSpanId && !ids.has(s.parentSpanId)) problems.push(`${where}: span ${s.spanId} has an unknown parent`);
    if (BigInt(s.endTimeUnixNano) < BigInt(s.startTimeUnixNano)) problems.push(`${where}: span ${s.spanId} ends before it starts`);
    const op = (s.attributes || []).find((a) => a.key === 'gen_ai.operation.name');
    if (!op) problems.push(`${where}: span ${s.spanId} has no gen_ai.operation.name`);
  }
  return spans.length;
}

function main() {
  const [schemaUrl, ...files] = process.argv.slice(2);
  if (!schemaUrl || files.length === 0) {
    console.error('usage: otlp-validate.js SCHEMA_URL FILE...');
    process.exit(2);
  }
  let lines = 0;
  let spans = 0;
  const problems = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) problems.push(`${file}: last line has no newline`);
    text.split('\n').forEach((line, i) => {
      if (line === '' && i === text.split('\n').length - 1) return;
      const where = `${file}:${i + 1}`;
      lines += 1;
      let json;
      try {
        json = JSON.parse(line);
      } catch (e) {
        problems.push(`${where}: not JSON: ${e.message}`);
        return;
      }
      const before = problems.length;
      check(json, 'Request', where, problems);
      if (problems.length !== before) return;
      spans += checkTrace(json, schemaUrl, where, problems);
      let decoded;
      try {
        const message = T.Request.fromObject(toProtoObject(json));
        const bytes = T.Request.encode(message).finish();
        decoded = T.Request.toObject(T.Request.decode(bytes), {
          longs: String, enums: Number, bytes: String,
        });
      } catch (e) {
        problems.push(`${where}: does not decode as ExportTraceServiceRequest: ${e.message}`);
        return;
      }
      const a = JSON.stringify(canonical(json));
      const b = JSON.stringify(canonical(fromDecoded(decoded)));
      if (a !== b) {
        problems.push(`${where}: changed in a protobuf round trip:\n  sent    ${a.slice(0, 400)}\n  decoded ${b.slice(0, 400)}`);
      }
    });
  }
  for (const p of problems.slice(0, 50)) console.error(`otlp-validate: ${p}`);
  if (problems.length > 0) {
    console.error(`otlp-validate: ${problems.length} problem(s) in ${lines} line(s)`);
    process.exit(1);
  }
  console.log(`otlp-validate: ${lines} request(s), ${spans} span(s) decode as ExportTraceServiceRequest and follow OTLP/JSON`);
}

main();
