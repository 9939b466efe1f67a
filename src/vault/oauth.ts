/**
 * Outbound calls made with vault secrets: the OAuth refresh grant and a probe of an MCP server.
 * Everything these return is meant for API responses, so response bodies come back with every
 * known secret (and anything that looks like a token field) redacted before truncation.
 */

export interface HttpSnapshot {
  status_code: number;
  content_type: string;
  body: string;
  body_truncated: boolean;
}

export interface OAuthRefreshConfig {
  client_id: string;
  token_endpoint: string;
  token_endpoint_auth: { type: 'none' | 'client_secret_basic' | 'client_secret_post' };
  resource?: string | null;
  scope?: string | null;
}

export interface RefreshResult {
  status: 'succeeded' | 'failed' | 'connect_error';
  http_response: HttpSnapshot | null;
  tokens?: { access_token: string; refresh_token?: string; expires_at: string | null };
}

const BODY_LIMIT = 4096;
// Read further than we show, so that a secret straddling the cut is redacted whole before cutting.
const READ_LIMIT = BODY_LIMIT + 16_384;
const TIMEOUT_MS = 10_000;
const TOKEN_FIELD = /("(?:access_token|refresh_token|id_token|client_secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;

export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text.replace(TOKEN_FIELD, '$1"[REDACTED]"');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}

async function readCapped(res: Response): Promise<{ text: string; more: boolean }> {
  if (!res.body) return { text: '', more: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let more = false;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch {
      // Timed out mid-body (an SSE answer left open): report what arrived.
      more = true;
      break;
    }
    const { done, value } = r;
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= READ_LIMIT) {
      more = true;
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), more };
}

async function snapshot(res: Response, secrets: Array<string | undefined>): Promise<{ snap: HttpSnapshot; raw: string }> {
  const { text, more } = await readCapped(res);
  const clean = redact(text, secrets);
  return {
    raw: text,
    snap: {
      status_code: res.status,
      content_type: res.headers.get('content-type') ?? '',
      body: clean.slice(0, BODY_LIMIT),
      body_truncated: more || clean.length > BODY_LIMIT,
    },
  };
}

/** The OAuth 2.0 refresh_token grant (RFC 6749 §6) with the client authentication the credential names. */
export async function refreshGrant(
  cfg: OAuthRefreshConfig,
  secrets: { refresh_token: string; client_secret?: string },
): Promise<RefreshResult> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: secrets.refresh_token });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (cfg.token_endpoint_auth.type === 'client_secret_basic') {
    const basic = `${encodeURIComponent(cfg.client_id)}:${encodeURIComponent(secrets.client_secret ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    form.set('client_id', cfg.client_id);
    if (cfg.token_endpoint_auth.type === 'client_secret_post') form.set('client_secret', secrets.client_secret ?? '');
  }
  if (cfg.resource) form.set('resource', cfg.resource);
  if (cfg.scope) form.set('scope', cfg.scope);
  let res: Response;
  try {
    res = await fetch(cfg.token_endpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
  } catch {
    return { status: 'connect_error', http_response: null };
  }
  const known = [secrets.refresh_token, secrets.client_secret];
  const { snap, raw } = await snapshot(res, known);
  if (!res.ok) return { status: 'failed', http_response: snap };
  let parsed: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { status: 'failed', http_response: snap };
  }
  if (typeof parsed.access_token !== 'string' || !parsed.access_token) return { status: 'failed', http_response: snap };
  const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : undefined;
  const tokens = {
    access_token: parsed.access_token,
    refresh_token: typeof parsed.refresh_token === 'string' && parsed.refresh_token ? parsed.refresh_token : undefined,
    expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000).toISOString() : null,
  };
  snap.body = redact(snap.body, [tokens.access_token, tokens.refresh_token]);
  return { status: 'succeeded', http_response: snap, tokens };
}

export interface ProbeResult {
  method: string;
  http_response: HttpSnapshot | null;
}

/** One MCP `initialize` request (Streamable HTTP) with the bearer token: does the server accept it? */
export async function probeMcp(url: string, token: string): Promise<ProbeResult> {
  const method = 'initialize';
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method,
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'paddock-credential-validation', version: '1' } },
  });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: 'manual',
    });
    return { method, http_response: (await snapshot(res, [token])).snap };
  } catch {
    return { method, http_response: null };
  }
}
