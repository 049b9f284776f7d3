/**
 * CallRunner — the only async glue of a call (DESIGN). It feeds events from the Twilio link,
 * the model link, timers and REST calls into the {@link CallSession}, and executes the
 * commands it returns, in order, at once.
 *
 * - `handle` is never re-entered: an event raised while commands execute (a socket that
 *   closes synchronously, say) waits until the current event's commands are done.
 * - A failure inside one call (an exception in the session or a link) ends that call with
 *   outcome `error` — both sockets closed — and never reaches the process or another call.
 */
import type { ModelCommand, ModelEvent, ModelLinkEvent } from '../protocol/realtime.js';
import { monotonicMs, type Clock, type TimerHandle } from '../util/clock.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { CallSession } from './call-session.js';
import type { CallCommand, CallEvent, RecordCommand, TimerName, ToolCommand, TwilioCommand } from './events.js';

/** What the runner needs from the realtime link (implemented by `links/realtime-link.ts`). */
export interface ModelLink {
  connect(): void;
  /** false when the socket is not open (the command is dropped) */
  send(cmd: ModelCommand): boolean;
  reconnect(reason: string): void;
  close(): void;
}

/** What the runner needs from the Twilio link. */
export interface TwilioSide {
  execute(cmd: TwilioCommand): void;
  close(code?: number, reason?: string): void;
}

/** Live-call control through Twilio's REST API. */
export interface CallControl {
  hangUp(callSid: string): Promise<void>;
  transfer(callSid: string, to: string): Promise<void>;
}

/** Observes a call for the store, metrics and logs; never influences it. */
export interface CallObserver {
  onEvent?(event: CallEvent): void;
  onRecord?(record: RecordCommand): void;
  /** the call is over (after its `record.end`) */
  onFinished?(): void;
  /** an audio event (caller frame or model delta) and all its commands took `durationMs` inside the bridge */
  onAudioHandled?(direction: 'caller_to_model' | 'model_to_caller', durationMs: number): void;
}

export interface CallRunnerOptions {
  callSid: string;
  session: CallSession;
  twilio: TwilioSide;
  /** builds the model link; its events come back through `dispatch` */
  createModelLink: (onEvent: (event: ModelEvent | ModelLinkEvent) => void) => ModelLink;
  control: CallControl | null;
  clock: Clock;
  logger: Logger;
  observer?: CallObserver;
}

export class CallRunner {
  private readonly model: ModelLink;
  private readonly timers = new Map<TimerName, TimerHandle>();
  private readonly pending: CallEvent[] = [];
  private dispatching = false;
  private finished = false;

  constructor(private readonly options: CallRunnerOptions) {
    this.model = options.createModelLink((event) => this.dispatch(event));
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Feeds one event. Safe to call from any callback; never throws. */
  dispatch(event: CallEvent): void {
    if (this.finished) return;
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pending.length > 0 && !this.finished) {
        const next = this.pending.shift()!;
        const observer = this.options.observer;
        const startedMs = observer?.onAudioHandled !== undefined ? monotonicMs() : 0;
        observer?.onEvent?.(next);
        const commands = this.options.session.handle(next);
        for (const cmd of commands) this.execute(cmd);
        if (observer?.onAudioHandled !== undefined) {
          if (next.type === 'twilio.media') observer.onAudioHandled('caller_to_model', monotonicMs() - startedMs);
          else if (next.type === 'model.audioDelta')
            observer.onAudioHandled('model_to_caller', monotonicMs() - startedMs);
        }
        if (this.options.session.phaseName === 'ended') this.finish();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.dispatching = false;
      this.pending.length = 0;
    }
  }

  private execute(cmd: CallCommand): void {
    switch (cmd.type) {
      case 'twilio.media':
      case 'twilio.mark':
      case 'twilio.clear':
      case 'twilio.close':
        this.options.twilio.execute(cmd);
        return;
      case 'model.connect':
        this.model.connect();
        return;
      case 'model.reconnect':
        this.model.reconnect(cmd.reason);
        return;
      case 'model.close':
        this.model.close();
        return;
      case 'timer.set': {
        this.cancelTimer(cmd.name);
        const name = cmd.name;
        this.timers.set(
          name,
          this.options.clock.setTimer(cmd.delayMs, () => {
            this.timers.delete(name);
            this.dispatch({ type: 'timer.fired', name });
          }),
        );
        return;
      }
      case 'timer.cancel':
        this.cancelTimer(cmd.name);
        return;
      case 'rest.hangUp':
        this.rest('hangUp', (c) => c.hangUp(this.options.callSid));
        return;
      case 'rest.transfer':
        this.rest('transfer', (c) => c.transfer(this.options.callSid, cmd.to));
        return;
      case 'tool.run':
        this.runTool(cmd);
        return;
      case 'record.turn':
      case 'record.bargeIn':
      case 'record.firstAudio':
      case 'record.end':
      case 'record.tool':
        this.options.observer?.onRecord?.(cmd);
        return;
      case 'log':
        this.options.logger[cmd.level](cmd.fields ?? {}, cmd.msg);
        return;
      default:
        // every remaining command is a model command
        this.model.send(cmd);
    }
  }

  private rest(action: 'hangUp' | 'transfer', call: (c: CallControl) => Promise<void>): void {
    const control = this.options.control;
    if (control === null) {
      this.dispatch({ type: 'rest.done', action, ok: false, error: 'no Twilio REST credentials' });
      return;
    }
    call(control).then(
      () => this.dispatch({ type: 'rest.done', action, ok: true, error: null }),
      (err: unknown) => this.dispatch({ type: 'rest.done', action, ok: false, error: describeError(err) }),
    );
  }

  /** A tool job: its output comes back as `tool.done`; a job that fails is answered with a short error. */
  private runTool({ callId, name, run }: ToolCommand): void {
    let job: Promise<string>;
    try {
      job = run();
    } catch (err) {
      job = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    job.then(
      (output) => this.dispatch({ type: 'tool.done', callId, output }),
      (err: unknown) => {
        this.options.logger.warn({ tool: name, err: describeError(err) }, 'tool failed');
        this.dispatch({ type: 'tool.done', callId, output: JSON.stringify({ ok: false, error: 'the tool failed' }) });
      },
    );
  }

  private cancelTimer(name: TimerName): void {
    const handle = this.timers.get(name);
    if (handle !== undefined) {
      this.options.clock.clearTimer(handle);
      this.timers.delete(name);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const name of [...this.timers.keys()]) this.cancelTimer(name);
    this.options.observer?.onFinished?.();
  }

  /** An exception inside this call: end it alone, with both sockets closed. */
  private fail(err: unknown): void {
    if (this.finished) return;
    this.options.logger.error({ err }, 'call failed; ending it');
    this.options.observer?.onRecord?.({
      type: 'record.end',
      outcome: 'error',
      atMs: this.options.clock.now(),
      detail: describeError(err).slice(0, 200),
    });
    try {
      this.model.close();
    } catch {
      // already failing; the socket is gone either way
    }
    try {
      this.options.twilio.close(1011, 'internal error');
    } catch {
      // idem
    }
    this.finish();
  }
}
