import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolOutcome, ToolResultBlock } from '../runtime/tool-executor.js';
import { redactValues } from '../vault/oauth.js';

/**
 * What an MCP tool's answer becomes in `agent.mcp_tool_result` and for the model. Text and
 * images (of the types the Messages API reads) are kept; everything else is described in text.
 * An answer longer than RESULT_LIMIT_CHARS is kept whole in a file in the session's sandbox and
 * the model gets the start of it plus the path.
 */

/** About 100K tokens (4 characters a token): the documented size above which a result goes to a file. */
export const RESULT_LIMIT_CHARS = 400_000;
/** How much of an offloaded result the model sees. */
export const PREVIEW_CHARS = 10_000;
/** Where offloaded results are written, one file per call (`<mcp_tool_use id>.txt`). */
export const RESULT_DIR = '/workspace/.mcp_results';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
/** The Messages API's limit for one image, as base64 characters (5 MB of bytes). */
const MAX_IMAGE_CHARS = Math.ceil((5 * 1024 * 1024 * 4) / 3);
const MAX_IMAGES = 20;

const text = (t: string): ToolResultBlock => ({ type: 'text', text: t });

/** A tool call's answer as result blocks, with any secret that was sent to the server taken out of its text. */
export function toOutcome(result: CallToolResult, secrets: string[]): ToolOutcome {
  const clean = (t: string) => (secrets.length ? redactValues(t, secrets) : t);
  const content: ToolResultBlock[] = [];
  let images = 0;
  for (const c of result.content ?? []) {
    switch (c.type) {
      case 'text':
        content.push(text(clean(c.text)));
        break;
      case 'image':
        if (!IMAGE_TYPES.has(c.mimeType)) content.push(text(`[an image of type ${c.mimeType}, which the model cannot read]`));
        else if (c.data.length > MAX_IMAGE_CHARS) content.push(text(`[an image larger than 5 MB, not shown]`));
        else if (++images > MAX_IMAGES) content.push(text(`[an image beyond the first ${MAX_IMAGES}, not shown]`));
        else content.push({ type: 'image', source: { type: 'base64', media_type: c.mimeType, data: c.data } });
        break;
      case 'audio':
        content.push(text(`[audio of type ${c.mimeType}, which the model cannot hear]`));
        break;
      case 'resource_link':
        content.push(text(clean(`[resource ${c.name}: ${c.uri}${c.description ? ` — ${c.description}` : ''}]`)));
        break;
      case 'resource':
        if ('text' in c.resource && typeof c.resource.text === 'string') content.push(text(clean(`[resource ${c.resource.uri}]\n${c.resource.text}`)));
        else content.push(text(clean(`[binary resource ${c.resource.uri}${c.resource.mimeType ? ` of type ${c.resource.mimeType}` : ''}, not shown]`)));
        break;
    }
  }
  if (content.length === 0 && result.structuredContent !== undefined) content.push(text(clean(JSON.stringify(result.structuredContent))));
  return { content, is_error: result.isError === true };
}

/**
 * Keeps a result within what the model is given: a text longer than RESULT_LIMIT_CHARS is handed
 * to `save` (which answers the path it was written to in the sandbox, or undefined when there is
 * no sandbox) and replaced by its first PREVIEW_CHARS characters and a note saying where the rest is.
 */
export async function fitForModel(outcome: ToolOutcome, save: (text: string) => Promise<string | undefined>): Promise<ToolOutcome> {
  const texts = outcome.content.flatMap((b) => (b.type === 'text' ? [b.text] : []));
  const full = texts.join('\n\n');
  if (full.length <= RESULT_LIMIT_CHARS) return outcome;
  const path = await save(full);
  const note = path
    ? `[The result is ${full.length} characters long; above are its first ${PREVIEW_CHARS}. The whole result is in ${path} in the sandbox: read it in parts (read with view_range, grep, or bash).]`
    : `[The result is ${full.length} characters long; above are its first ${PREVIEW_CHARS}. The rest was dropped: no sandbox was available to keep it in a file.]`;
  return {
    is_error: outcome.is_error,
    content: [text(`${full.slice(0, PREVIEW_CHARS)}\n\n${note}`), ...outcome.content.filter((b) => b.type !== 'text')],
  };
}
