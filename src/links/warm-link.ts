/**
 * A realtime link opened before its call exists (SPEC §11 warm start): it connects at once and
 * sends the profile's `session.update` as soon as the socket opens, holding its events until a
 * call attaches. The call then drives it like any link: its `connect()` hands over what was
 * held, in order — `model.open` first, so the call configures the session and asks for the
 * greeting exactly as it would on a fresh socket, only sooner.
 *
 * The recorder sees the wire from the claim on: the warm-up's own `session.update` and its
 * answers are not recorded, so a recording reads (and replays) like one of a fresh socket.
 */
import type { ModelLink } from '../call/call-runner.js';
import type { ModelTap } from '../call/call-factory.js';
import type { ModelCommand, ModelEvent, ModelLinkEvent, SessionConfig } from '../protocol/realtime.js';

type LinkEvent = ModelEvent | ModelLinkEvent;

/** The realtime link underneath (`realtime-link.ts`), as far as a warm start needs it. */
interface StatefulLink extends ModelLink {
  readonly state: string;
}

export class WarmLink implements ModelLink {
  private readonly link: StatefulLink;
  private readonly held: LinkEvent[] = [];
  private onEvent: ((event: LinkEvent) => void) | null = null;
  private tap: ModelTap | null = null;
  private configured = false;
  private delivering = false;

  /** @param create builds the link with the event sink and tap it is given (it is not connected yet) */
  constructor(
    create: (io: { onEvent: (event: LinkEvent) => void; tap: ModelTap }) => StatefulLink,
    private readonly session: SessionConfig,
  ) {
    this.link = create({
      onEvent: (event) => this.receive(event),
      tap: {
        message: (dir, wire) => this.tap?.message(dir, wire),
        appendAudio: (audio) => this.tap?.appendAudio(audio),
      },
    });
    this.link.connect();
  }

  /** Still worth claiming: connecting or open (a link that failed or closed is not). */
  get usable(): boolean {
    const state = this.link.state;
    return state === 'connecting' || state === 'open';
  }

  /** A call takes the link over (its events are delivered from its `connect()` on). */
  attach(onEvent: (event: LinkEvent) => void, tap: ModelTap | undefined): this {
    this.onEvent = onEvent;
    this.tap = tap ?? null;
    return this;
  }

  /**
   * The call's `model.connect`: the socket is already open (or opening). What it said so far is
   * delivered now (`session.created` carries the expiry the call renews by), except the answer
   * to the warm-up's `session.update`: the call sends its own.
   */
  connect(): void {
    this.delivering = true;
    for (const event of this.held.splice(0)) if (event.type !== 'model.sessionUpdated') this.onEvent?.(event);
  }

  send(cmd: ModelCommand): boolean {
    return this.link.send(cmd);
  }

  reconnect(reason: string): void {
    this.link.reconnect(reason);
  }

  close(): void {
    this.link.close();
  }

  private receive(event: LinkEvent): void {
    if (event.type === 'model.open' && !this.configured) {
      this.configured = true;
      this.link.send({ type: 'model.updateSession', session: this.session });
    }
    if (this.delivering && this.onEvent !== null) this.onEvent(event);
    else this.held.push(event);
  }
}
