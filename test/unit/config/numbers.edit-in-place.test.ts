/**
 * The numbers file edited in place (issue #14 item 9): one number's profile changes, the rest
 * of the text — comments, blank lines, key order, unquoted number keys' meaning — stays.
 */
import { describe, expect, it } from 'vitest';

import { NumbersFileConflict, withNumberInText } from '../../../src/config/numbers.js';
import { ConfigError } from '../../../src/util/errors.js';

const FILE = '/srv/bridge/numbers.yaml';

describe('withNumberInText', () => {
  it('changes only the fields that change; a scalar changed in place keeps its comment', () => {
    const text = `# header
numbers:
  "+15551230001":
    greeting: null # none yet
    transfer_to: "+15550000000"
    voice: verse # the owner's pick

  # the other line
  "+15551230002":
    voice: sage
`;
    const { text: edited, profiles } = withNumberInText(
      text,
      '+15551230001',
      { greeting: 'Hello: how can I help? # not a comment', transfer_to: '+15550000001', voice: 'coral' },
      FILE,
    );
    expect(edited).toBe(`# header
numbers:
  "+15551230001":
    greeting: "Hello: how can I help? # not a comment" # none yet
    transfer_to: "+15550000001"
    voice: coral # the owner's pick

  # the other line
  "+15551230002":
    voice: sage
`);
    expect(profiles.byNumber.get('+15551230001')).toMatchObject({
      greeting: 'Hello: how can I help? # not a comment',
      transferTo: '+15550000001',
      voice: 'coral',
    });
  });

  it('a field the new profile omits is removed; a new number is added quoted at the end', () => {
    const text = 'numbers:\n  "+15551230001":\n    voice: verse\n    greeting: Hi\n';
    const dropped = withNumberInText(text, '+15551230001', { voice: 'verse' }, FILE).text;
    expect(dropped).toBe('numbers:\n  "+15551230001":\n    voice: verse\n');
    const added = withNumberInText(dropped, '+15551230009', { voice: 'sage' }, FILE).text;
    expect(added).toBe('numbers:\n  "+15551230001":\n    voice: verse\n  "+15551230009":\n    voice: sage\n');
  });

  it('an unquoted number key keeps its number (it is written back quoted)', () => {
    const { text, profiles } = withNumberInText(
      'numbers:\n  +15551230001:\n    voice: verse\n',
      '+15551230001',
      { voice: 'sage' },
      FILE,
    );
    expect(text).toBe('numbers:\n  "+15551230001":\n    voice: sage\n');
    expect(profiles.byNumber.get('+15551230001')?.voice).toBe('sage');
  });

  it('a file with only comments gains a numbers map below them', () => {
    const { text } = withNumberInText('# nothing yet\n', '+15551230001', { voice: 'sage' }, FILE);
    expect(text).toBe('# nothing yet\n\nnumbers:\n  "+15551230001":\n    voice: sage\n');
  });

  it('an invalid field → ConfigError naming it; a file that does not parse → NumbersFileConflict', () => {
    expect(() => withNumberInText('numbers: {}\n', '+15551230001', { voice: 'robot' }, FILE)).toThrow(ConfigError);
    expect(() => withNumberInText('numbers: {}\n', '+15551230001', { voice: 'robot' }, FILE)).toThrow(
      /numbers\."\+15551230001"\.voice: "robot" is not a known voice/,
    );
    expect(() => withNumberInText('numbers: [unclosed\n', '+15551230001', {}, FILE)).toThrow(NumbersFileConflict);
  });
});
