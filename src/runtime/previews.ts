import type Anthropic from '@anthropic-ai/sdk';
import { newId } from '../domain/ids.js';
import type { SessionBus } from '../fanout/bus.js';

/** Where a content block of the model's response lands: which event, at which content index. */
export interface BlockSlot {
  eventId: string;
  index: number;
}

/**
 * Turns the model's token stream into live preview frames (`event_start` / `event_delta`) and
 * fixes, block by block, the ids of the events the response will be written as — so the
 * preview's id is the id of the buffered `agent.message` that follows. Consecutive text blocks
 * form one `agent.message` (one content index each); thinking gets a start frame only.
 */
export class PreviewTracker {
  readonly slots = new Map<number, BlockSlot>();
  private run: { eventId: string; next: number } | undefined;

  constructor(
    private readonly bus: SessionBus,
    private readonly sessionId: string,
  ) {}

  onEvent(e: Anthropic.Messages.RawMessageStreamEvent): void {
    if (e.type === 'content_block_start') {
      const block = e.content_block;
      if (block.type === 'text') {
        if (!this.run) {
          this.run = { eventId: newId('event'), next: 0 };
          this.bus.ephemeral(this.sessionId, { type: 'event_start', event: { type: 'agent.message', id: this.run.eventId } });
        }
        this.slots.set(e.index, { eventId: this.run.eventId, index: this.run.next++ });
        if (block.text) this.delta(e.index, block.text);
        return;
      }
      this.run = undefined;
      const eventId = newId('event');
      this.slots.set(e.index, { eventId, index: 0 });
      if (block.type === 'thinking' || block.type === 'redacted_thinking') {
        this.bus.ephemeral(this.sessionId, { type: 'event_start', event: { type: 'agent.thinking', id: eventId } });
      }
    } else if (e.type === 'content_block_delta' && e.delta.type === 'text_delta' && e.delta.text) {
      this.delta(e.index, e.delta.text);
    }
  }

  private delta(blockIndex: number, text: string): void {
    const slot = this.slots.get(blockIndex);
    if (!slot) return;
    this.bus.ephemeral(this.sessionId, {
      type: 'event_delta',
      event_id: slot.eventId,
      delta: { type: 'content_delta', index: slot.index, content: { type: 'text', text } },
    });
  }

  /** The slot of block `i` of the final message (every streamed block has one; others get a fresh id). */
  slot(i: number): BlockSlot {
    return this.slots.get(i) ?? { eventId: newId('event'), index: 0 };
  }
}
