/**
 * Reads the parts of a TwiML answer the simulated phone (and tests) care about: the
 * `<Connect><Stream>` and its `<Parameter>`s, or a `<Reject/>`.
 */

export interface StreamTwiml {
  url: string;
  parameters: Record<string, string>;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
}

/** The `<Connect><Stream>` of a TwiML document, or null when there is none. */
export function parseStreamTwiml(xml: string): StreamTwiml | null {
  const stream = /<Connect[^>]*>\s*<Stream\b([^>]*)>([\s\S]*?)<\/Stream>/.exec(xml);
  if (!stream) return null;
  const url = attr(stream[1]!, 'url');
  if (url === undefined) return null;
  const parameters: Record<string, string> = {};
  for (const m of stream[2]!.matchAll(/<Parameter\b([^>]*)\/>/g)) {
    const name = attr(m[1]!, 'name');
    const value = attr(m[1]!, 'value');
    if (name !== undefined && value !== undefined) parameters[name] = value;
  }
  return { url, parameters };
}

/** True when the TwiML rejects the call. */
export function isRejectTwiml(xml: string): boolean {
  return /<Reject\b/.test(xml);
}
