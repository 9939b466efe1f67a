import { portOf, requestOver, type HttpResult } from '../net/http-request.js';
import type { ToolOutcome } from '../runtime/tool-executor.js';
import { EgressRefused, type EgressGate } from '../sandbox/egress/gate.js';
import { messageOf } from '../error-info.js';

const MAX_BYTES = 2 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const DEFAULT_MAX_CHARS = 100_000;
const TIMEOUT_MS = 30_000;

const fail = (text: string): ToolOutcome => ({ is_error: true, content: [{ type: 'text', text }] });

function domainAllowed(host: string, config: Record<string, unknown> | undefined): string | undefined {
  const within = (d: unknown) => typeof d === 'string' && (host === d.toLowerCase() || host.endsWith('.' + d.toLowerCase()));
  const allowed = config?.allowed_domains;
  if (Array.isArray(allowed) && allowed.length && !allowed.some(within)) return `${host} is not in the tool's allowed_domains`;
  const blocked = config?.blocked_domains;
  if (Array.isArray(blocked) && blocked.some(within)) return `${host} is in the tool's blocked_domains`;
  return undefined;
}

/** Readable text from HTML: scripts and styles dropped, tags removed, entities decoded, blank runs folded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|noscript)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|li|h[1-6]|tr|section|article)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

async function once(url: URL, gate: EgressGate, signal: AbortSignal): Promise<HttpResult> {
  const socket = await gate.connect(url.hostname, portOf(url), signal);
  return requestOver(url, socket, {
    method: 'GET',
    headers: { 'user-agent': 'Paddock-web_fetch/1.0', accept: 'text/html,text/plain,application/json,*/*;q=0.5' },
    signal,
    idleTimeoutMs: TIMEOUT_MS,
    maxBytes: MAX_BYTES,
  });
}

/**
 * web_fetch runs in the server, not the sandbox, but leaves through the session's egress gate:
 * the environment's network policy applies to every hop of a redirect chain.
 */
export async function webFetch(
  input: Record<string, unknown>,
  gate: EgressGate,
  config: Record<string, unknown> | undefined,
  signal: AbortSignal,
): Promise<ToolOutcome> {
  if (typeof input.url !== 'string' || !input.url) return fail('web_fetch: url is required');
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return fail(`web_fetch: ${input.url} is not a valid URL`);
  }
  const maxTokens = typeof config?.max_content_tokens === 'number' ? config.max_content_tokens : undefined;
  const maxChars = maxTokens ? maxTokens * 4 : DEFAULT_MAX_CHARS;
  try {
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`web_fetch: only http and https URLs can be fetched (${url.protocol})`);
      const refused = domainAllowed(url.hostname.toLowerCase(), config);
      if (refused) return fail(`web_fetch: ${refused}`);
      const res = await once(url, gate, signal);
      if (signal.aborted) return fail('web_fetch: interrupted');
      if (res.status >= 300 && res.status < 400 && res.headers.location) {
        if (hop >= MAX_REDIRECTS) return fail(`web_fetch: too many redirects (last: ${url.href})`);
        url = new URL(res.headers.location, url);
        continue;
      }
      const type = String(res.headers['content-type'] ?? '');
      if (!/^(text\/|application\/(json|xml|javascript|[\w.+-]*\+(json|xml)))/i.test(type) && type) {
        return fail(`web_fetch: ${url.href} returned ${type} (${res.body.length} bytes), which is not text`);
      }
      let text = res.body.toString('utf8');
      if (/html/i.test(type)) text = htmlToText(text);
      let note = res.truncated ? '\n[content truncated]' : '';
      if (text.length > maxChars) {
        text = text.slice(0, maxChars);
        note = '\n[content truncated]';
      }
      const body = `URL: ${url.href}\nStatus: ${res.status}\nContent-Type: ${type || 'unknown'}\n\n${text}${note}`;
      return { is_error: res.status >= 400, content: [{ type: 'text', text: body }] };
    }
  } catch (err) {
    if (err instanceof EgressRefused) return fail(`web_fetch: ${err.message}`);
    if (signal.aborted) return fail('web_fetch: interrupted');
    return fail(`web_fetch: ${url.href}: ${messageOf(err)}`);
  }
}
