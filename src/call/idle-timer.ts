/**
 * Silence handling (SPEC §11 `idle`): when the line has been quiet for `after_ms`, the model
 * says the next prompt; after `end_after` unanswered prompts the goodbye plays and the call
 * ends (outcome `idle_hang_up`). Pure: the session says, after every event, whether the line
 * is quiet; this module says which timer to set or cancel and what a firing means.
 *
 * "Quiet" means nobody is talking and nothing is owed: the caller is not speaking, no response
 * is in progress or waiting, no assistant audio is unheard (so the count starts at the mark
 * echo of the last audio: when the caller *heard* it end, not when the model finished sending
 * it) and no tool is running. The count starts at the moment the line becomes quiet — the last
 * mark echo or the caller's `speech_stopped`, whichever is later — and stops the moment it is
 * not quiet; an event that leaves it quiet does not restart it.
 */
import type { IdleSettings } from '../config/session-settings.js';
import type { TimerCommand } from './events.js';

/** What a firing of the idle timer asks for. */
export type IdleAction =
  | { kind: 'prompt'; instructions: string }
  /** the goodbye, as `Goodbye.begin` takes it */
  | { kind: 'end'; goodbye: { text: string; lead: string } };

export class IdleTimer {
  private armed = false;
  private unanswered = 0;
  /** a prompt was asked for: the line stays "not quiet" until its response is seen */
  private promptOwed = false;
  private speaking = false;

  constructor(private readonly settings: IdleSettings | null) {}

  /** The caller spoke (or pressed keys): the prompts so far are answered. */
  callerActive(): void {
    this.unanswered = 0;
  }

  /** The caller started (true) or stopped (false) talking: the line is not quiet while they talk. */
  callerSpeaking(speaking: boolean): void {
    this.speaking = speaking;
    if (speaking) this.callerActive();
  }

  /** Between the caller's speech_started and speech_stopped. */
  get speakingNow(): boolean {
    return this.speaking;
  }

  /** Prompts said since the caller last spoke. */
  get promptsUnanswered(): number {
    return this.unanswered;
  }

  /**
   * The line's state after an event: the timer to set when it just became quiet, to cancel when
   * it just stopped being quiet, null otherwise (also when idle handling is off).
   */
  update(quiet: boolean): TimerCommand | null {
    if (!quiet) this.promptOwed = false;
    if (this.settings === null || this.promptOwed || quiet === this.armed) return null;
    this.armed = quiet;
    return quiet
      ? { type: 'timer.set', name: 'idle', delayMs: this.settings.afterMs }
      : { type: 'timer.cancel', name: 'idle' };
  }

  /** The timer fired on a quiet line: the next prompt, or the end after `end_after` unanswered ones. */
  fired(): IdleAction | null {
    if (this.settings === null || !this.armed) return null;
    this.armed = false;
    const { prompts, endAfter, goodbye } = this.settings;
    if (this.unanswered >= endAfter)
      return { kind: 'end', goodbye: { text: goodbye, lead: 'The caller has stayed silent, so the call ends now.' } };
    const prompt = prompts[Math.min(this.unanswered, prompts.length - 1)]!;
    this.unanswered += 1;
    this.promptOwed = true;
    return {
      kind: 'prompt',
      instructions:
        'The caller has been silent for a while. Check they are still there, saying exactly the following, ' +
        `then stop and wait: "${prompt}"`,
    };
  }
}
