/**
 * The session's tuning values, each with its reason. Tests and the replayer may override them
 * (a test seam, not configuration); a recording stores the tuning it ran with in its header.
 */

export interface SessionTuning {
  /**
   * Added to the last echoed mark when truncating. The echo reached us late by the
   * Twilio→bridge delay, and the caller keeps hearing audio until our `clear` reaches Twilio;
   * marks every {@link markIntervalMs} also put the last echo up to one interval behind. 50 ms
   * with 60 ms marks keeps the error within −10…+50 ms on loopback (measured in the barge-in
   * integration test) and never exceeds what was sent.
   */
  truncationCushionMs: number;
  /**
   * A mark after every this-many ms of assistant audio (SPEC: at least every 100 ms). 60 ms
   * (3 frames) bounds the truncation error by the interval while adding only ~17 small
   * messages per second of speech.
   */
  markIntervalMs: number;
  /** Caller audio kept while the model is not connected (start-up or reconnect); older audio is dropped beyond it. */
  maxBufferedInputMs: number;
  /** Largest `media.timestamp` gap filled with silence; a bigger jump is a clock reset, not lost frames. */
  maxGapFillMs: number;
  /**
   * The model owes an answer (a response in progress or an acknowledgement) and has sent
   * nothing for this long → reconnect. A live model silent this long with nothing owed is
   * probed (a `session.update` that changes nothing — not the full config: re-sending the
   * voice after audio has played, or VAD settings mid-utterance, is not harmless on every
   * deployment), so a stall is found even while the caller talks.
   */
  modelStallTimeoutMs: number;
  /** Renew the model session this long before the provider's `expires_at`. */
  sessionRenewLeadMs: number;
  /** DTMF digits pressed within this window go to the model as one text item. */
  dtmfDebounceMs: number;
  /** After the last audio was sent, how long past its play-out the end waits for the final mark. */
  endGraceMs: number;
}

export const DEFAULT_TUNING: SessionTuning = {
  truncationCushionMs: 50,
  markIntervalMs: 60,
  maxBufferedInputMs: 15_000,
  maxGapFillMs: 2_000,
  modelStallTimeoutMs: 8_000,
  sessionRenewLeadMs: 120_000,
  dtmfDebounceMs: 1_200,
  endGraceMs: 2_000,
};
