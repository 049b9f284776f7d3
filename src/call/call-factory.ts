/**
 * The one way to build a call: a {@link CallSession} and the {@link CallRunner} that drives it,
 * tied to a Twilio side and a model link, with an optional {@link CallTap} (the recorder)
 * plugged in at its tap points. A live call (`app.ts`: real sockets) and a replay
 * (`recording/replayer.ts`: a recording's sockets on a virtual clock) both come from here, so a
 * replay runs exactly the wiring production runs and cannot drift from it.
 *
 * The links are built by the caller (they are the IO, and differ between the two) from what
 * the factory hands them: where their events go, and the tap that sees their raw traffic.
 * The lifecycle of both sockets, which no wire message shows, is noted here, at the one place
 * every call passes through.
 */
import type { Profile } from '../config/numbers.js';
import type { ModelEvent, ModelLinkEvent } from '../protocol/realtime.js';
import type { Direction } from '../protocol/recording.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { CallRunner, type CallControl, type CallObserver, type ModelLink, type TwilioSide } from './call-runner.js';
import { CallSession } from './call-session.js';
import type { CallInfo, ToolTable } from './tools/tool.js';
import type { SessionTuning } from './session-tuning.js';
import type { CallEvent, TwilioCommand } from './events.js';

/** Raw realtime traffic, as the realtime link sees it. */
export interface ModelTap {
  /** a wire message: `model_in` bridge → model (as encoded), `model_out` model → bridge (as parsed) */
  message(dir: 'model_in' | 'model_out', wire: object): void;
  /** the bytes of one `input_audio_buffer.append` (so the link need not build its JSON object) */
  appendAudio(audio: Uint8Array): void;
}

/** A Twilio frame as it crossed the wire (text, as sent or received). */
export type TwilioTap = (dir: 'twilio_in' | 'twilio_out', text: string) => void;

/**
 * Observes a call's traffic and never influences it (the call recorder). The factory plugs
 * it in: `twilio` and `model` into the links, `lifecycle` at the socket events and requests.
 */
export interface CallTap {
  twilio: TwilioTap;
  model: ModelTap;
  /** what happened to a socket (see `protocol/recording.ts`, lifecycle lines) */
  lifecycle(dir: Direction, msg: Record<string, unknown>): void;
}

export interface CallSpec {
  callSid: string;
  profile: Profile;
  clock: Clock;
  logger: Logger;
  /** μ-law 8 kHz audio played when the model cannot be reached */
  apologyMulaw: Uint8Array;
  /** Twilio REST (hang-up, transfer); null without credentials, and the session then never asks for it */
  control: CallControl | null;
  tuning?: Partial<SessionTuning>;
  /** the tools offered to the model (built-in and HTTP); the profile's built-in tools when absent (a replay) */
  tools?: ToolTable;
  /** who is calling whom, as tool backends are told; absent in a replay */
  call?: CallInfo;
  /** builds the Twilio side: its events go to `onEvent`, its raw frames to `tap` */
  twilio(io: { onEvent: (event: CallEvent) => void; tap: TwilioTap | undefined }): TwilioSide;
  /** builds the model link: its events go to `onEvent`, its raw traffic to `tap` */
  model(io: { onEvent: (event: ModelEvent | ModelLinkEvent) => void; tap: ModelTap | undefined }): ModelLink;
  /** the recorder, if this call is recorded */
  tap: CallTap | null;
  observer: CallObserver;
}

export interface Call {
  session: CallSession;
  runner: CallRunner;
  /** the Twilio side as the runner drives it */
  twilio: TwilioSide;
}

/** The model link's lifecycle events as recording lines (`model_out`). */
function modelLifecycle(event: ModelEvent | ModelLinkEvent): Record<string, unknown> | null {
  switch (event.type) {
    case 'model.open':
      return { type: 'link.open', reconnect: event.reconnect };
    case 'model.closed':
      return {
        type: 'link.closed',
        code: event.code,
        reason: event.reason,
        willRetry: event.willRetry,
        retryInMs: event.retryInMs,
      };
    case 'model.failed':
      return { type: 'link.failed', message: event.message, providerCode: event.providerCode };
    default:
      return null;
  }
}

/** Builds a call (see the file header). Nothing runs until the first event is dispatched. */
export function buildCall(spec: CallSpec): Call {
  const { tap } = spec;
  const session = new CallSession({
    clock: spec.clock,
    profile: spec.profile,
    apologyMulaw: spec.apologyMulaw,
    canUseRest: spec.control !== null,
    ...(spec.tuning !== undefined ? { tuning: spec.tuning } : {}),
    ...(spec.tools !== undefined ? { tools: spec.tools } : {}),
    ...(spec.call !== undefined ? { call: spec.call } : {}),
  });
  // The runner needs the Twilio side and the side delivers to the runner: tie the knot late.
  let runner: CallRunner | null = null;
  const side = spec.twilio({
    onEvent: (event) => {
      if (event.type === 'twilio.closed') tap?.lifecycle('twilio_in', { event: 'socket.closed', code: event.code });
      runner?.dispatch(event);
    },
    tap: tap?.twilio,
  });
  const twilio: TwilioSide =
    tap === null
      ? side
      : {
          execute: (cmd: TwilioCommand) => {
            if (cmd.type === 'twilio.close')
              tap.lifecycle('twilio_out', { event: 'socket.close', code: cmd.code, reason: cmd.reason });
            side.execute(cmd);
          },
          close: (code, reason) => side.close(code, reason),
        };
  runner = new CallRunner({
    callSid: spec.callSid,
    session,
    twilio,
    createModelLink: (onEvent) => {
      const link = spec.model({
        onEvent:
          tap === null
            ? onEvent
            : (event) => {
                const line = modelLifecycle(event);
                if (line !== null) tap.lifecycle('model_out', line);
                onEvent(event);
              },
        tap: tap?.model,
      });
      if (tap === null) return link;
      // A reconnect or close is noted after the link has acted: it first writes caller audio
      // still held behind a write in flight, and the recording keeps the wire's order.
      return {
        connect: () => {
          tap.lifecycle('model_in', { type: 'link.connect' });
          link.connect();
        },
        send: (cmd) => link.send(cmd),
        reconnect: (reason) => {
          link.reconnect(reason);
          tap.lifecycle('model_in', { type: 'link.reconnect', reason });
        },
        close: () => {
          link.close();
          tap.lifecycle('model_in', { type: 'link.close' });
        },
      };
    },
    control: spec.control,
    clock: spec.clock,
    logger: spec.logger,
    observer: spec.observer,
  });
  return { session, runner, twilio };
}
