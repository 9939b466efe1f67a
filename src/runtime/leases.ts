/**
 * Which node drives which session. Exactly one holder at a time; a holder that stops renewing
 * loses the lease when it expires and another node may take the session over.
 */
export interface SessionLeases {
  readonly nodeId: string;
  /** Takes the lease if it is free or expired; true when this node now holds it. */
  tryAcquire(sessionId: string): Promise<boolean>;
  /** Extends a held lease; false when it was lost (expired and taken by another node). */
  renew(sessionId: string): Promise<boolean>;
  release(sessionId: string): Promise<void>;
}

/** Single node: an in-process set. */
export class InProcessLeases implements SessionLeases {
  private held = new Set<string>();
  constructor(readonly nodeId = 'local') {}

  async tryAcquire(sessionId: string): Promise<boolean> {
    if (this.held.has(sessionId)) return false;
    this.held.add(sessionId);
    return true;
  }

  async renew(sessionId: string): Promise<boolean> {
    return this.held.has(sessionId);
  }

  async release(sessionId: string): Promise<void> {
    this.held.delete(sessionId);
  }
}
