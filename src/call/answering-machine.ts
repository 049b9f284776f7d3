/**
 * Who answered an outbound call, and what the assistant does about it (SPEC §13). Pure: the
 * session feeds it the callee's speech turns, Twilio's asynchronous AMD verdict and its timer,
 * and asks what to do.
 *
 * The problem: with `AsyncAmd` the call connects at once and Twilio's verdict comes seconds
 * later (a person: ~2–4 s after answer; a machine, with `DetectMessageEnd`: after its greeting
 * and beep; PROTOCOLS §10.5). Waiting for it leaves a person saying "hello?" into silence;
 * not waiting talks to a machine as if it were a person. The strategy:
 *
 * ```
 *  listening ─ first callee turn ends within SHORT_HELLO_MS ("hello?") ──────► greeted
 *     │      ─ nobody speaks for SILENT_OPENING_MS (a person waiting) ────────► greeted
 *     │      ─ verdict human / unknown ──────────────────────────────────────► greeted
 *     │      ─ a long first turn (a recorded greeting): wait for the verdict
 *     └──── verdict machine_end_* / fax (also after greeting) ─► voicemail (say the message once,
 *                                                     end: voicemail_left) or hang up (machine_detected)
 * ```
 *
 * A machine verdict after the greeting cuts the greeting off (the session clears playback):
 * with `DetectMessageEnd` that verdict arrives after the beep, so the message is recorded.
 * Until the callee is greeted the model does not answer on its own (`create_response` off).
 */
import type { MachineDetection } from '../config/numbers.js';

/**
 * Longest first turn still taken for a person's "hello?", measured from speech start to the
 * VAD's end of turn (which includes its silence, 500 ms by default). A spoken "hello?" is
 * 0.4–1 s; recorded greetings run 3 s and more ("Hi, you've reached …, leave a message after
 * the tone").
 */
export const SHORT_HELLO_MS = 1_800;

/**
 * A callee who says nothing this long after the answer is greeted anyway (some people wait
 * for the caller); a machine's greeting starts well within it.
 */
export const SILENT_OPENING_MS = 2_500;

/**
 * Longest voicemail message the call waits for before it ends anyway (the last mark may never
 * come back from a machine that hung up).
 */
export const VOICEMAIL_MAX_MS = 60_000;

/** What the session does next. */
export type MachineAction =
  | { kind: 'none' }
  /** speak first now (the outbound greeting) */
  | { kind: 'greet' }
  /** a machine: cut whatever plays and say this message, once; then end (`voicemail_left`) */
  | { kind: 'voicemail'; message: string }
  /** a machine or fax: end the call now (`machine_detected`) */
  | { kind: 'hangup'; answeredBy: string };

const NONE: MachineAction = { kind: 'none' };

export interface AnsweringMachineSettings {
  machineDetection: MachineDetection;
  voicemailMessage: string | null;
}

export class AnsweringMachine {
  private state: 'listening' | 'greeted' | 'machine' = 'listening';
  private speechSinceMs: number | null = null;
  private heardSpeech = false;
  /** a verdict that came before the model session was open, acted on when it opens */
  private held: MachineAction | null = null;
  /** the voicemail message was asked for and its response has not started yet */
  private voicemailAsked = false;

  constructor(private readonly settings: AnsweringMachineSettings) {
    // Without detection there is no verdict to wait for: the call opens like an inbound one.
    if (settings.machineDetection === 'off') this.state = 'greeted';
  }

  /** The assistant may speak first now (and the model may answer turns on its own). */
  get greeted(): boolean {
    return this.state === 'greeted';
  }

  /** A machine answered: nothing but the voicemail message is said. */
  get isMachine(): boolean {
    return this.state === 'machine';
  }

  /** The callee started talking. */
  speechStarted(nowMs: number): void {
    if (this.state === 'listening' && !this.heardSpeech) this.speechSinceMs = nowMs;
    this.heardSpeech = true;
  }

  /** The callee's turn ended: a short first turn is a person's "hello?". */
  speechStopped(nowMs: number): MachineAction {
    const since = this.speechSinceMs;
    this.speechSinceMs = null;
    if (this.state !== 'listening' || since === null || nowMs - since > SHORT_HELLO_MS) return NONE;
    return this.greet();
  }

  /** The silent-opening timer fired: nobody has spoken, so greet. */
  openingTimeout(): MachineAction {
    return this.state === 'listening' && !this.heardSpeech ? this.greet() : NONE;
  }

  /** Twilio's `AnsweredBy` (PROTOCOLS §10.5). */
  verdict(answeredBy: string): MachineAction {
    if (this.state === 'machine' || this.settings.machineDetection === 'off') return NONE;
    if (answeredBy === 'human' || answeredBy === 'unknown') return this.state === 'listening' ? this.greet() : NONE;
    if (!answeredBy.startsWith('machine_') && answeredBy !== 'fax') return NONE;
    this.state = 'machine';
    const message = this.settings.voicemailMessage;
    const leaveMessage = this.settings.machineDetection === 'voicemail' && message !== null && answeredBy !== 'fax';
    // `machine_start` (plain `Enable` detection) comes before the beep: only a message-end verdict may speak.
    if (leaveMessage && answeredBy.startsWith('machine_end_')) return { kind: 'voicemail', message };
    return { kind: 'hangup', answeredBy };
  }

  /** Keeps an action that came before the model session was open (a greeting needs none: `greeted` says it). */
  hold(action: MachineAction): void {
    if (action.kind !== 'greet') this.held = action;
  }

  /** The action held until the model session opened, once. */
  takeHeld(): MachineAction | null {
    const held = this.held;
    this.held = null;
    return held;
  }

  /** The voicemail message's `response.create` instructions; its response is the next one to start. */
  voicemailInstructions(message: string): string {
    this.voicemailAsked = true;
    return (
      'You reached a voicemail box and the beep has sounded. ' + `Say exactly the following, then stop: "${message}"`
    );
  }

  /** A response started: true once, when it is the voicemail message's. */
  voicemailStarted(): boolean {
    const asked = this.voicemailAsked;
    this.voicemailAsked = false;
    return asked;
  }

  private greet(): MachineAction {
    this.state = 'greeted';
    return { kind: 'greet' };
  }
}
