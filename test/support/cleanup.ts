/**
 * Registers a clean-up for whoever creates a resource: at the end of the test when called
 * inside one, else at the end of the file. (`afterAll` called inside a running test is
 * silently never run, which leaked child processes and temp dirs.)
 */
import { afterAll, expect, onTestFinished } from 'vitest';

export function whenDone(fn: () => void | Promise<void>): void {
  if (expect.getState().currentTestName !== undefined) onTestFinished(fn);
  else afterAll(fn);
}
