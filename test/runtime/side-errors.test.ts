import { expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event-log.js';
import { derive } from '../../src/runtime/derive.js';

// A `session.error` about the sandbox's setup (a repository that could not be cloned, a
// credential host the environment blocks) says "retrying" because the session goes on without
// that resource: it must neither start a turn by itself nor use up the model's retries.

const usage = { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const finishedTurn = [
  { type: 'user.message', content: [{ type: 'text', text: 'hi' }] },
  { type: 'session.status_running' },
  { id: 'sevt_start', type: 'span.model_request_start' },
  { type: 'agent.message', content: [{ type: 'text', text: 'hello' }] },
  { type: 'span.model_request_end', model_request_start_id: 'sevt_start', is_error: false, model_usage: usage },
  { type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null },
];
const log = (...extra: Array<Record<string, unknown>>): StoredEvent[] =>
  [...finishedTurn, ...extra].map((e, i) => ({ seq: i + 1, event: { id: `sevt_${i}`, processed_at: null, ...e } as StoredEvent['event'] }));
const error = (type: string, more: Record<string, unknown> = {}) => ({
  type: 'session.error',
  error: { type, message: 'm', retry_status: { type: 'retrying' }, ...more },
});

it('a repository or credential-host error on an idle session starts nothing', () => {
  for (const e of [
    error('repository_authentication_error', { repository_url: 'https://github.com/a/b' }),
    error('repository_clone_error', { repository_url: null }),
    error('credential_host_unreachable_error', { credential_id: 'vcrd_1', vault_id: 'vlt_1' }),
  ]) {
    const state = derive(log(e), new Map());
    expect(state.owed, e.error.type).toEqual({ kind: 'none' });
    expect(state.failures, e.error.type).toBe(0);
  }
  // A model error that says retrying does start the request again: the rule is about the type.
  expect(derive(log(error('model_overloaded_error')), new Map()).owed).toEqual({ kind: 'open_request' });
});
