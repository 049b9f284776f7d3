/**
 * The call store's writer thread (started by `sqlite-call-store.ts`): runs the store's writes
 * in the order they were sent, each its own statement and transaction, off the event loop, so
 * a lock held by another process (a backup, the sqlite3 CLI) or a slow disk never stalls the
 * calls.
 *
 * Plain JavaScript on purpose: on Node 20 a worker thread does not get the tsx loader the
 * bridge runs under (module hooks registered by `--import` do not reach workers), and loading
 * tsx inside the worker costs ~0.5 s of CPU per store. The SQL comes from `WRITE_SQL` in
 * `calls-repo.ts` through `workerData`, so this file holds no schema knowledge.
 *
 * Messages in:  `{type: 'write', seq, name, params, with?}` (`with`: writes made in the same
 *               transaction, e.g. an outbox event with its record change), `{type: 'close'}`.
 * Messages out: `{type: 'landed', through}` — every write up to `seq` `through` is done (written,
 *               or dropped after a `fault` with `transient: false`);
 *               `{type: 'fault', seq, name, code, message, transient}` — a write failed; a transient
 *               one (locked, full disk, I/O error) stays at the head of the queue and is retried
 *               after `retryMs`, so nothing after it lands out of order.
 * On `close` the database is closed and the thread ends; writes still queued are the caller's to
 * report (it knows which ones it is still waiting for).
 */
import { clearImmediate, clearTimeout, setImmediate, setTimeout } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';

import Database from 'better-sqlite3';

/**
 * What the main thread sends (`workerData` once, then messages).
 * @typedef {{file: string, statements: Record<string, string>, busyTimeoutMs: number, retryMs: number}} Setup
 * @typedef {{name: string, params: unknown[]}} Statement
 * @typedef {{type: 'write', seq: number, name: string, params: unknown[], with?: Statement[]}} Write
 * @typedef {Write | {type: 'close'}} Message
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- JSDoc casts are not checked in a .mjs file
const { file, statements, busyTimeoutMs, retryMs } = /** @type {Setup} */ (workerData);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/** Codes worth retrying: another connection's lock, a full disk, an I/O error (all can clear). */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL|NOMEM)/;

/** @type {import('better-sqlite3').Database | null} */
let db = null;
/** @type {Map<string, import('better-sqlite3').Statement>} */
let prepared = new Map();
/** @type {{seq: number, name: string, params: unknown[], with?: Statement[]}[]} */
const queue = [];
/** @type {ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | null} */
let scheduled = null;

function open() {
  if (db !== null) return;
  const opened = new Database(file);
  try {
    opened.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // per connection: durable against a killed process, like the bridge's own connection
    opened.pragma('synchronous = NORMAL');
    prepared = new Map(Object.entries(statements).map(([name, sql]) => [name, opened.prepare(sql)]));
  } catch (err) {
    opened.close();
    throw err;
  }
  db = opened;
}

/** @param {Statement} write */
function run(write) {
  const statement = prepared.get(write.name);
  if (statement === undefined) throw Object.assign(new Error(`unknown write ${write.name}`), { code: 'UNKNOWN' });
  statement.run(...write.params);
}

/** @param {number} delayMs */
function schedule(delayMs) {
  if (scheduled !== null) return;
  scheduled = delayMs === 0 ? setImmediate(drain) : setTimeout(drain, delayMs);
}

function drain() {
  scheduled = null;
  let through = null;
  while (queue.length > 0) {
    const write = queue[0];
    try {
      open();
      if (write.with === undefined) run(write);
      else
        /** @type {import('better-sqlite3').Database} */ (db).transaction(() => [write, ...write.with].forEach(run))();
    } catch (/** @type {unknown} */ err) {
      const raw = /** @type {{code?: unknown} | null} */ (err)?.code;
      const code = typeof raw === 'string' ? raw : 'UNKNOWN';
      const transient = TRANSIENT.test(code);
      port.postMessage({
        type: 'fault',
        seq: write.seq,
        name: write.name,
        code,
        message: err instanceof Error ? err.message : String(err),
        transient,
      });
      if (transient) {
        if (through !== null) port.postMessage({ type: 'landed', through });
        schedule(retryMs);
        return;
      }
    }
    queue.shift();
    through = write.seq;
  }
  if (through !== null) port.postMessage({ type: 'landed', through });
}

port.on('message', (/** @type {Message} */ message) => {
  if (message.type === 'write') {
    queue.push(message);
    schedule(0);
  } else if (message.type === 'close') {
    if (scheduled !== null) {
      clearTimeout(scheduled);
      clearImmediate(scheduled);
    }
    queue.length = 0;
    try {
      db?.close();
    } finally {
      port.close();
    }
  }
});
