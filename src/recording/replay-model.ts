/**
 * The model's side of a replay: a {@link ModelLink} that writes down what the bridge sends
 * (`model_in`, lifecycle requests included) and plays the recorded `model_out` lines back
 * when their gates open (see `replay-gates.ts`), through the same parser the real link uses.
 * Like the real link it drops commands while its socket is not open and drops server events
 * once the bridge has closed it.
 */
import type { ModelLink } from '../call/call-runner.js';
import type { CallEvent } from '../call/events.js';
import type { Dialect } from '../protocol/dialects.js';
import { modelAudioBytesPerMs, type ModelCommand } from '../protocol/realtime.js';
import { encodeClientEvent, parseServerEventObject } from '../protocol/realtime-codec.js';
import { messageKind, type RecordingLine } from '../protocol/recording.js';

import { gateModelLines, type Gate, type GatedLine } from './replay-gates.js';

/** What the virtual model link needs from the replay driver. */
export interface ReplayModelHost {
  /** ms since the call started, on the virtual clock */
  now(): number;
  /** runs `fire` at `t` (ms since start); `order` breaks ties (recorded line index) */
  schedule(t: number, order: number, fire: () => void): void;
  /** hands a model event (wire or lifecycle) to the bridge now */
  deliver(event: CallEvent, line: RecordingLine): void;
  /** a line the bridge sent (model_in) */
  emit(line: RecordingLine): void;
  /** a recorded model event could not be parsed (reported, then skipped) */
  unparsable(line: RecordingLine, reason: string): void;
}

type LinkState = 'idle' | 'connecting' | 'open' | 'down' | 'closed' | 'failed';

interface Pending {
  gated: GatedLine;
  remaining: number;
  /** the release time so far (ms since start) */
  bound: number;
  releaseT: number | null;
}

/** Figures for the report. */
export interface ReplayModelStats {
  /** recorded model events released to the bridge */
  released: number;
  /** released later than recorded because the bridge now asked later */
  delayed: number;
  /** never released: the bridge never sent what they answer */
  withheld: number;
  /** released while the link was not open (dropped, as the real link would) */
  dropped: number;
}

/** The virtual realtime link of a replay (see the file header). */
export class ReplayModelLink implements ModelLink {
  readonly stats: ReplayModelStats = { released: 0, delayed: 0, withheld: 0, dropped: 0 };
  private state: LinkState = 'idle';
  private readonly pending = new Map<number, Pending>();
  private readonly sent = new Map<string, number[]>();
  private readonly waitClient = new Map<string, { p: Pending; gate: Gate }[]>();
  private readonly waitLine = new Map<number, { p: Pending; gate: Gate }[]>();
  /** audio gates not yet open, by ascending ms */
  private readonly waitAudio: { p: Pending; gate: Extract<Gate, { kind: 'audio' }> }[] = [];
  private audioMs = 0;
  private readonly bytesPerMs: number;
  private readonly recordedReconnects: number;

  constructor(
    private readonly host: ReplayModelHost,
    private readonly lines: readonly RecordingLine[],
    private readonly dialect: Dialect,
    audioMode: 'pcm16' | 'pcmu',
  ) {
    this.bytesPerMs = modelAudioBytesPerMs(audioMode);
    this.recordedReconnects = lines.filter((l) => l.dir === 'model_in' && l.msg['type'] === 'link.reconnect').length;
    for (const gated of gateModelLines(lines, audioMode)) {
      const p: Pending = { gated, remaining: gated.gates.length, bound: gated.t, releaseT: null };
      this.pending.set(gated.line, p);
      for (const gate of gated.gates) {
        if (gate.kind === 'client') this.push(this.waitClient, `${gate.clientKind}#${gate.index}`, { p, gate });
        else if (gate.kind === 'line') {
          const target = this.pending.get(gate.line);
          if (target?.releaseT != null) this.open(p, gate, target.releaseT);
          else this.push(this.waitLine, gate.line, { p, gate });
        } else if (gate.ms <= 0) this.open(p, gate, 0);
        else this.waitAudio.push({ p, gate });
      }
      if (gated.gates.length === 0) this.release(p);
    }
    this.waitAudio.sort((a, b) => a.gate.ms - b.gate.ms);
  }

  /** Lines whose gates never opened, counted when the replay ends. */
  finish(): void {
    for (const p of this.pending.values()) if (p.releaseT === null) this.stats.withheld++;
  }

  // ── ModelLink ────────────────────────────────────────────────────────────────

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.clientEvent({ type: 'link.connect' });
  }

  send(cmd: ModelCommand): boolean {
    if (this.state !== 'open') return false;
    const wire = encodeClientEvent(cmd, this.dialect);
    this.host.emit({ t: this.host.now(), dir: 'model_in', msg: wire });
    if (cmd.type === 'model.appendAudio') {
      this.audioMs += cmd.audio.byteLength / this.bytesPerMs;
      const now = this.host.now();
      while (this.waitAudio.length > 0 && this.waitAudio[0]!.gate.ms <= this.audioMs + 1e-9) {
        const { p, gate } = this.waitAudio.shift()!;
        this.open(p, gate, now);
      }
    } else {
      this.countClient(messageKind('model_in', wire));
    }
    return true;
  }

  reconnect(reason: string): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    const index = this.sent.get('link.reconnect')?.length ?? 0;
    this.clientEvent({ type: 'link.reconnect', reason });
    if (index >= this.recordedReconnects) {
      // The recording has no reconnect to play back here: behave like the real link
      // (close, then reopen at once), without a server session behind it.
      const t = this.host.now();
      this.state = 'down';
      const closed: RecordingLine = {
        t,
        dir: 'model_out',
        msg: { type: 'link.closed', code: 1000, reason: 'reconnect', willRetry: true, retryInMs: 0 },
      };
      const opened: RecordingLine = { t, dir: 'model_out', msg: { type: 'link.open', reconnect: true } };
      this.host.schedule(t, Number.MAX_SAFE_INTEGER, () => this.deliverLine(closed));
      this.host.schedule(t, Number.MAX_SAFE_INTEGER, () => this.deliverLine(opened));
    }
  }

  close(): void {
    if (this.state === 'closed') return;
    this.clientEvent({ type: 'link.close' });
    this.state = 'closed';
  }

  /** The session started a tool job: the replayed `tool.call` (whose recorded result may now be released). */
  toolCall(msg: Record<string, unknown>): void {
    this.clientEvent(msg);
  }

  // ── gates ────────────────────────────────────────────────────────────────────

  private clientEvent(msg: Record<string, unknown>): void {
    this.host.emit({ t: this.host.now(), dir: 'model_in', msg });
    this.countClient(String(msg['type']));
  }

  private countClient(kind: string): void {
    const list = this.sent.get(kind) ?? [];
    this.sent.set(kind, list);
    const index = list.length;
    const now = this.host.now();
    list.push(now);
    const waiting = this.waitClient.get(`${kind}#${index}`);
    if (waiting === undefined) return;
    this.waitClient.delete(`${kind}#${index}`);
    for (const { p, gate } of waiting) this.open(p, gate, now);
  }

  private push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
  }

  /** A gate opened at `atT`: the line may not come before the recorded gap after it. */
  private open(p: Pending, gate: Gate, atT: number): void {
    p.bound = Math.max(p.bound, atT + (p.gated.t - gate.recordedT));
    p.remaining--;
    if (p.remaining === 0) this.release(p);
  }

  private release(p: Pending): void {
    const t = Math.max(p.bound, this.host.now());
    p.releaseT = t;
    if (t > p.gated.t + 0.5) this.stats.delayed++;
    const line = this.lines[p.gated.line]!;
    this.host.schedule(t, p.gated.line, () => this.deliverLine(line));
    const dependents = this.waitLine.get(p.gated.line);
    if (dependents === undefined) return;
    this.waitLine.delete(p.gated.line);
    for (const d of dependents) this.open(d.p, d.gate, t);
  }

  // ── delivery ─────────────────────────────────────────────────────────────────

  private deliverLine(recorded: RecordingLine): void {
    const line: RecordingLine = { t: this.host.now(), dir: 'model_out', msg: recorded.msg };
    const msg = recorded.msg;
    if (this.state === 'closed' || this.state === 'failed') {
      this.stats.dropped++;
      return;
    }
    this.stats.released++;
    switch (messageKind('model_out', msg)) {
      case 'tool.result':
        // the backend's answer, whatever the model socket does meanwhile
        this.host.deliver(
          {
            type: 'tool.done',
            callId: typeof msg['call_id'] === 'string' ? msg['call_id'] : '',
            output: typeof msg['output'] === 'string' ? msg['output'] : '',
          },
          line,
        );
        return;
      case 'link.open':
        this.state = 'open';
        this.host.deliver({ type: 'model.open', reconnect: msg['reconnect'] === true }, line);
        return;
      case 'link.closed': {
        const willRetry = msg['willRetry'] === true;
        this.state = willRetry ? 'down' : 'failed';
        const retryInMs = typeof msg['retryInMs'] === 'number' ? msg['retryInMs'] : null;
        this.host.deliver(
          {
            type: 'model.closed',
            code: Number(msg['code'] ?? 1006),
            reason: typeof msg['reason'] === 'string' ? msg['reason'] : '',
            willRetry,
            retryInMs,
          },
          line,
        );
        return;
      }
      case 'link.failed':
        this.state = 'failed';
        this.host.deliver(
          {
            type: 'model.failed',
            message: typeof msg['message'] === 'string' ? msg['message'] : '',
            providerCode: typeof msg['providerCode'] === 'string' ? msg['providerCode'] : null,
          },
          line,
        );
        return;
      default:
        break;
    }
    if (this.state !== 'open') {
      this.stats.released--;
      this.stats.dropped++;
      return;
    }
    const parsed = parseServerEventObject(msg, this.dialect);
    if (!parsed.ok) {
      this.host.unparsable(recorded, parsed.reason);
      return;
    }
    this.host.deliver(parsed.event, line);
  }
}
