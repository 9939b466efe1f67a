import type { SessionCredentials } from '../../domain/credentials.js';
import type { Networking } from '../../domain/environments.js';
import { placeholderFor, type CredentialRule } from './inject.js';
import { reachable } from './policy.js';

/** The slice of the vault that sandboxes use: the session's credentials, decrypted in the server. */
export interface CredentialSource {
  resolveForSession(vaultIds: string[]): Promise<SessionCredentials>;
}

export interface PreparedCredentials {
  /** Variable name → placeholder: all a sandbox ever sees of a credential. */
  env: Record<string, string>;
  rules: CredentialRule[];
  /** Credentials naming hosts the environment's networking never lets the sandbox reach. */
  unreachable: Array<{ credentialId: string; vaultId: string; hosts: string[] }>;
}

/** A secret changed or archived in the vault applies to requests within this long. */
const REFRESH_MS = 2000;

/**
 * The session's `environment_variable` credentials for one sandbox: placeholders for its
 * environment, and rules for the egress proxy whose secret values are read from the vault again
 * when they are older than REFRESH_MS (one read at a time).
 */
export async function prepareCredentials(
  session: { id: string; vault_ids: string[] },
  source: CredentialSource,
  networking: Networking,
  mcpHosts: string[],
): Promise<PreparedCredentials> {
  const first = await source.resolveForSession(session.vault_ids);
  let values = new Map(first.environmentVariables.map((c) => [c.credentialId, c.secretValue]));
  let readAt = Date.now();
  let reading: Promise<void> | undefined;
  const current = async (credentialId: string): Promise<string | undefined> => {
    if (Date.now() - readAt > REFRESH_MS) {
      reading ??= source
        .resolveForSession(session.vault_ids)
        .then((c) => {
          values = new Map(c.environmentVariables.map((x) => [x.credentialId, x.secretValue]));
          readAt = Date.now();
        })
        .finally(() => (reading = undefined));
      await reading;
    }
    return values.get(credentialId);
  };
  const out: PreparedCredentials = { env: {}, rules: [], unreachable: [] };
  for (const c of first.environmentVariables) {
    const placeholder = placeholderFor(session.id, c.credentialId);
    out.env[c.secretName] = placeholder;
    const hosts = c.networking.type === 'unrestricted' ? 'any' : c.networking.allowed_hosts.map((h) => h.toLowerCase());
    out.rules.push({
      credentialId: c.credentialId,
      vaultId: c.vaultId,
      placeholder,
      hosts,
      header: c.injectionLocation.header,
      body: c.injectionLocation.body,
      value: () => current(c.credentialId),
    });
    if (hosts !== 'any') {
      const blocked = hosts.filter((h) => !reachable(networking, mcpHosts, h));
      if (blocked.length) out.unreachable.push({ credentialId: c.credentialId, vaultId: c.vaultId, hosts: blocked });
    }
  }
  return out;
}
