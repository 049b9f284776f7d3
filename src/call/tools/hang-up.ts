/** `hang_up` (SPEC §6.6): the call ends once the assistant's goodbye has played. */
import { reasonOf, reasonParameter, type ToolEntry } from './tool.js';

export const hangUp: ToolEntry = {
  declaration: {
    name: 'hang_up',
    description:
      'End the phone call. Use it when the caller says goodbye or asks to end the call, after you have said goodbye. ' +
      'The line is closed once your last words have played.',
    parameters: reasonParameter('Why the call is ending, in a few words.'),
  },
  plan: (args) => ({
    kind: 'end',
    output: JSON.stringify({ ok: true, note: 'the call ends after your last words have played' }),
    detail: reasonOf(args),
  }),
};
