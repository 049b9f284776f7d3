/** `transfer_call` (SPEC §6.6): Twilio redirects the call to the profile's `transfer_to` once the assistant spoke. */
import { reasonOf, reasonParameter, toolError, type ToolEntry } from './tool.js';

export const transferCall: ToolEntry = {
  declaration: {
    name: 'transfer_call',
    description:
      'Transfer the caller to a human colleague. Tell the caller you are transferring them before calling this; ' +
      'the transfer happens once your words have played.',
    parameters: reasonParameter('Why the caller needs a human, in a few words.'),
  },
  plan: (args, { profile, canUseRest }) => {
    if (profile.transferTo === null || !canUseRest) {
      const why =
        profile.transferTo === null
          ? 'no transfer number is configured'
          : 'transfers need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN';
      return {
        kind: 'output',
        output: toolError(`Transfer is not possible right now (${why}). Apologise and offer to help.`),
        respond: true,
      };
    }
    return {
      kind: 'transfer',
      to: profile.transferTo,
      detail: reasonOf(args),
      failedOutput: toolError('The transfer failed. Apologise and offer to help or take a message.'),
    };
  },
};
