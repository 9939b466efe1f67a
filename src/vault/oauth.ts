import type { HttpResult } from '../net/http-request.js';
import type { Outbound } from '../net/outbound.js';

/**
 * Outbound calls made with vault secrets: the OAuth refresh grant and a probe of an MCP server,
 * both through the server's outbound port. What they return is meant for API responses: a token
 * endpoint's body is never returned (it is where secrets live), and an MCP server's body comes
 * back with every known secret, in clear and in its usual encodings, redacted before truncation.
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
const LIMITS = { maxBytes: READ_LIMIT, idleTimeoutMs: 10_000 };
const TIMEOUT_MS = 10_000;
const TOKEN_BODY_NOTE = '[not shown: Paddock does not return token endpoint response bodies]';
const TOKEN_FIELD = /("(?:access_token|refresh_token|id_token|client_secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;

/** A secret as a careless server might echo it: URL-encoded, JSON-escaped, hex, base64 at each byte alignment. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    json,
    json.replace(/\//g, '\\/'),
    json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    bytes.toString('hex'),
  ];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Inside a longer base64 text only the characters made of the secret's bits alone are fixed.
    const core = b64.slice(shift ? 4 : 0, -4);
    forms.push(b64, b64.replace(/=+$/, ''), core);
  }
  for (const f of [...forms]) forms.push(f.replace(/\+/g, '-').replace(/\//g, '_'));
  return [...new Set(forms)].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function redact(text: string, secrets: Array<string | undefined>): string {
  return redactValues(text.replace(TOKEN_FIELD, '$1"[REDACTED]"'), secrets);
}

/** Only the given secrets, in clear and encoded (for text that may rightly hold other token fields). */
export function redactValues(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    // Case-insensitive: percent-escapes and hex come in either case.
    for (const f of encodings(s)) out = out.replace(new RegExp(escapeRegExp(f), 'gi'), '[REDACTED]');
  }
  return out;
}

function snapshot(res: HttpResult, secrets: Array<string | undefined>): HttpSnapshot {
  const clean = redact(res.body.toString('utf8'), secrets);
  return {
    status_code: res.status,
    content_type: String(res.headers['content-type'] ?? ''),
    body: clean.slice(0, BODY_LIMIT),
    body_truncated: res.truncated || clean.length > BODY_LIMIT,
  };
}

/** A token endpoint's answer without its body: status and type say what happened; the body may hold tokens. */
function withoutBody(res: HttpResult): HttpSnapshot {
  return { status_code: res.status, content_type: String(res.headers['content-type'] ?? ''), body: TOKEN_BODY_NOTE, body_truncated: false };
}

/** The OAuth 2.0 refresh_token grant (RFC 6749 §6) with the client authentication the credential names. */
export async function refreshGrant(
  outbound: Outbound,
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
  let res: HttpResult;
  try {
    res = await outbound.request(cfg.token_endpoint, { method: 'POST', headers, body: form.toString(), ...LIMITS, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    return { status: 'connect_error', http_response: null };
  }
  const snap = withoutBody(res);
  if (res.status < 200 || res.status > 299 || res.truncated) return { status: 'failed', http_response: snap };
  let parsed: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
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
  return { status: 'succeeded', http_response: snap, tokens };
}

export interface ProbeResult {
  method: string;
  http_response: HttpSnapshot | null;
}

/** One MCP `initialize` request (Streamable HTTP) with the bearer token: does the server accept it? */
export async function probeMcp(outbound: Outbound, url: string, token: string): Promise<ProbeResult> {
  const method = 'initialize';
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method,
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'paddock-credential-validation', version: '1' } },
  });
  try {
    const res = await outbound.request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
      ...LIMITS,
      // An SSE answer may stay open: at the deadline, what arrived is reported.
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { method, http_response: snapshot(res, [token]) };
  } catch {
    return { method, http_response: null };
  }
}
