// Record traceframe events from Node.js through `traceframe record --stream`.
// Node's standard library only (child_process, readline). See
// docs/harness-integration.md.
//
//   import { TraceStream } from './traceframe-stream.mjs';
//   const stream = new TraceStream('run.traceframe', { init: 'run-42', ack: true,
//                                                      labels: { task: 't1' },
//                                                      finishStatus: 'success' });
//   const line = await stream.event('model.call', { provider: 'anthropic', model: 'm' },
//                                   { id: 'call-1' });
//   const ack = await stream.durable(line);  // { line, seq, id } once durable
//   await stream.close();                    // EOF: flush, sync, run.finished, exit 0
//
// event() resolves once the line is in the pipe; when the pipe is full (the
// disk is behind) it waits for 'drain' (backpressure, nothing dropped).
// With ack: true, durable(line) resolves with the line's ack once the event
// is durable, or rejects with the line's error if the stream rejected it.
//
// Run as a script: node traceframe-stream.mjs TRACEFRAME_BIN TRACE COUNT
// writes COUNT events with acks and prints a JSON summary (the gate's test).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

export class TraceStream {
  constructor(path, { init, labels = {}, ack = false, sync = 'batch', finishStatus,
                      binary = process.env.TRACEFRAME_BIN || 'traceframe' } = {}) {
    const argv = ['record', '--file', String(path), '--stream', '--sync', sync];
    if (init !== undefined) {
      argv.push('--init', init);
      for (const [k, v] of Object.entries(labels)) argv.push('--label', `${k}=${v}`);
    }
    if (ack) argv.push('--ack');
    if (finishStatus !== undefined) argv.push('--finish-on-eof', finishStatus);
    this.ack = ack;
    this.lines = 0;
    this.answered = new Map();  // line -> ack or rejection
    this.waiters = new Map();   // line -> [resolve, reject]
    this.stderr = '';
    this.child = spawn(binary, argv, { stdio: ['pipe', ack ? 'pipe' : 'ignore', 'pipe'] });
    this.exited = once(this.child, 'exit');
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    this.child.stdin.on('error', () => {});  // EPIPE: reported by close()
    if (ack) {
      const rl = createInterface({ input: this.child.stdout, crlfDelay: Infinity });
      rl.on('line', (text) => this.#onAck(JSON.parse(text)));
    }
  }

  #onAck(ack) {
    const waiter = this.waiters.get(ack.line);
    if (waiter) {
      this.waiters.delete(ack.line);
      if (ack.error !== undefined) waiter[1](new Error(`line ${ack.line}: ${ack.error}`));
      else waiter[0](ack);
    } else {
      this.answered.set(ack.line, ack);
    }
  }

  // Writes one event; resolves with its input line number (1-based).
  async event(kind, payload, { id, tsMs } = {}) {
    const line = { kind, payload };
    if (tsMs !== undefined) line.ts_ms = tsMs;
    if (id !== undefined) line.id = id;
    return this.writeRaw(JSON.stringify(line));
  }

  // Writes one line of text as is (no newline in it).
  async writeRaw(text) {
    this.lines += 1;
    if (!this.child.stdin.write(text + '\n')) await once(this.child.stdin, 'drain');
    return this.lines;
  }

  // With ack: true: resolves with the ack of `line` once its event is durable.
  durable(line) {
    if (!this.ack) return Promise.reject(new Error('durable() needs ack: true'));
    const known = this.answered.get(line);
    if (known) {
      this.answered.delete(line);
      return known.error !== undefined ? Promise.reject(new Error(`line ${line}: ${known.error}`))
                                       : Promise.resolve(known);
    }
    return new Promise((resolve, reject) => this.waiters.set(line, [resolve, reject]));
  }

  // Ends the input (EOF: flush, sync, optional run.finished); resolves with
  // exit code 0 or rejects with the stream's stderr.
  async close() {
    this.child.stdin.end();
    const [code, signal] = await this.exited;
    if (code !== 0) {
      throw new Error(`traceframe record --stream exited ${code ?? signal}: ${this.stderr.trim()}`);
    }
    return code;
  }
}

async function main([binary, trace, countText]) {
  const count = Number(countText);
  const stream = new TraceStream(trace, { init: 'node-stream', ack: true, binary,
                                          labels: { client: 'node' }, finishStatus: 'success' });
  const acks = [];
  let last = 0;
  for (let i = 0; i < count; i += 1) {
    last = await stream.event('tool.call', { tool: 'bash', command: `echo ${i}` }, { id: `n${i}` });
    acks.push(stream.durable(last));
  }
  const bad = await stream.writeRaw('{"kind":"nope","payload":{}}');
  const badResult = stream.durable(bad).then(() => 'accepted', (e) => e.message);
  const resolved = await Promise.all(acks);
  const rejected = await badResult;
  await stream.close();
  const ordered = resolved.every((a, i) => a.line === i + 1 && a.id === `n${i}` &&
                                           (i === 0 || a.seq === resolved[i - 1].seq + 1));
  console.log(JSON.stringify({ acks: resolved.length, ordered, rejected,
                               lastSeq: resolved.at(-1)?.seq }));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => { console.error(e.message); process.exit(1); });
}
