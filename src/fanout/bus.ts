/**
 * Wakes whoever follows a session. The event log is the source of truth: a notification only
 * says "the log of this session grew" (subscribers then read it), so a missed or merged
 * notification loses nothing. Ephemeral frames (live previews) are carried by the bus itself
 * and are never stored.
 */
export interface EphemeralFrame {
  type: 'event_start' | 'event_delta';
  [k: string]: unknown;
}

export type BusMessage = { kind: 'appended'; seq: number } | { kind: 'ephemeral'; frame: EphemeralFrame } | { kind: 'deleted' };

export type BusListener = (msg: BusMessage) => void;

export interface SessionBus {
  subscribe(sessionId: string, listener: BusListener): () => void;
  /** Called after a commit that appended events up to `seq`. */
  appended(sessionId: string, seq: number): void;
  ephemeral(sessionId: string, frame: EphemeralFrame): void;
  deleted(sessionId: string): void;
  close(): Promise<void>;
}

/** The single-node bus: an in-process listener table. */
export class InProcessBus implements SessionBus {
  private listeners = new Map<string, Set<BusListener>>();

  subscribe(sessionId: string, listener: BusListener): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(sessionId);
    };
  }

  protected emit(sessionId: string, msg: BusMessage): void {
    for (const l of this.listeners.get(sessionId) ?? []) l(msg);
  }

  appended(sessionId: string, seq: number): void {
    this.emit(sessionId, { kind: 'appended', seq });
  }

  ephemeral(sessionId: string, frame: EphemeralFrame): void {
    this.emit(sessionId, { kind: 'ephemeral', frame });
  }

  deleted(sessionId: string): void {
    this.emit(sessionId, { kind: 'deleted' });
  }

  subscriberCount(sessionId: string): number {
    return this.listeners.get(sessionId)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
