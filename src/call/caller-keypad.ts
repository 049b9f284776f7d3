/**
 * Keys the caller presses (Twilio `dtmf`, SPEC §6.6): collected for a moment so that "1 2 3 4"
 * reaches the model as one text item, never held without bound. Pure.
 */

/**
 * Digits held before they are sent at once, without waiting for the pause. Longer than any
 * number a keypad prompt asks for (card numbers are 19 digits, IBANs 34 characters), so a
 * person typing never meets it; a stream sending `dtmf` in a loop cannot grow the buffer past it.
 */
export const MAX_HELD_DIGITS = 40;

export class CallerKeypad {
  private digits = '';

  /** Digits held now. */
  get held(): number {
    return this.digits.length;
  }

  /** A key was pressed. Returns the text for the model when the buffer is full (send it now), else null. */
  press(digit: string): string | null {
    this.digits += digit;
    return this.digits.length >= MAX_HELD_DIGITS ? this.take() : null;
  }

  /** The pause after the last key is over: the text for the model, or null when nothing is held. */
  take(): string | null {
    const digits = this.digits;
    this.digits = '';
    return digits === '' ? null : `The caller pressed these keys on the phone keypad: ${digits.split('').join(' ')}`;
  }
}
