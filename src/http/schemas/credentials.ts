import { Type, type TProperties } from '@sinclair/typebox';
import { ArchivedListQuery, HttpUrl, Literals, Metadata, MetadataPatch, Nullable, Opt, Str, Timestamp, Times } from './common.js';
import { optionalBody } from '../validation.js';

/**
 * Vault credentials (wire-contract §8). Secrets are write-only: requests carry them, no response
 * does, and validation messages name the field, never the value.
 */

const NON_EMPTY = 'must be a non-empty string';
const Secret = Str(16_384, 1, { writeOnly: true, 'x-error': { type: NON_EMPTY, minLength: NON_EMPTY, required: NON_EMPTY } });
const Url = HttpUrl(2048, 'must be an http or https URL');
const Plain = (max: number) => Str(max, 1, { 'x-error': `must be a string of 1-${max} characters` });
const HOST = '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';

/** An object with exactly these fields: another one is refused by name. */
const Exact = <T extends TProperties>(what: string, properties: T) =>
  Type.Object(properties, { additionalProperties: false, 'x-error': { additionalProperties: `not a field of ${what}` } });

const Networking = Type.Union([
  Exact('unrestricted networking', { type: Type.Literal('unrestricted') }),
  Exact('limited networking', {
    type: Type.Literal('limited'),
    allowed_hosts: Type.Array(Type.String({ maxLength: 253, pattern: HOST, 'x-error': 'must be a bare host name, an IPv4 address or a *.wildcard' }), {
      minItems: 1,
      maxItems: 16,
      'x-error': 'must list 1-16 hosts',
    }),
  }),
]);

const InjectionFlag = Type.Optional(Type.Boolean({ 'x-error': 'must be a boolean (omit it to leave it unchanged)' }));
const InjectionLocation = Exact('injection_location', { body: InjectionFlag, header: InjectionFlag });

// On update the client secret may be omitted when the method already had one (the domain decides).
const EndpointAuth = Type.Union([
  Exact('token_endpoint_auth none', { type: Type.Literal('none') }),
  ...(['client_secret_basic', 'client_secret_post'] as const).map((t) =>
    Exact(`token_endpoint_auth ${t}`, { type: Type.Literal(t), client_secret: Opt(Secret) }),
  ),
]);

const Refresh = Exact('refresh', {
  client_id: Plain(1024),
  refresh_token: Secret,
  token_endpoint: Url,
  token_endpoint_auth: EndpointAuth,
  resource: Opt(Plain(2048)),
  scope: Opt(Str(2048)),
});

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,255}$';
const SecretName = Type.String({ pattern: ENV_NAME, 'x-error': 'must be an environment variable name (letters, digits and _, not starting with a digit)' });

export const CreateAuth = Type.Union([
  Exact('mcp_oauth', {
    type: Type.Literal('mcp_oauth'),
    access_token: Secret,
    mcp_server_url: Url,
    expires_at: Opt(Timestamp),
    refresh: Opt(Refresh),
  }),
  Exact('static_bearer', { type: Type.Literal('static_bearer'), token: Secret, mcp_server_url: Url }),
  Exact('environment_variable', {
    type: Type.Literal('environment_variable'),
    secret_name: SecretName,
    secret_value: Secret,
    networking: Networking,
    injection_location: Type.Optional(InjectionLocation),
  }),
]);

/** Update: secrets may be rotated; keys and endpoints may be repeated but not changed (the domain compares them). */
export const UpdateAuth = Type.Union([
  Exact('mcp_oauth', {
    type: Type.Literal('mcp_oauth'),
    access_token: Opt(Secret),
    mcp_server_url: Type.Optional(Type.String()),
    expires_at: Opt(Timestamp),
    refresh: Opt(
      Exact('refresh', {
        client_id: Type.Optional(Type.String()),
        refresh_token: Opt(Secret),
        token_endpoint: Type.Optional(Type.String()),
        token_endpoint_auth: Opt(EndpointAuth),
        resource: Opt(Plain(2048)),
        scope: Opt(Str(2048)),
      }),
    ),
  }),
  Exact('static_bearer', { type: Type.Literal('static_bearer'), token: Opt(Secret), mcp_server_url: Type.Optional(Type.String()) }),
  Exact('environment_variable', {
    type: Type.Literal('environment_variable'),
    secret_name: Type.Optional(Type.String()),
    secret_value: Opt(Secret),
    networking: Opt(Networking),
    injection_location: Type.Optional(InjectionLocation),
  }),
]);

export const CredentialCreate = Type.Object({ display_name: Opt(Str(255)), metadata: Opt(Metadata), auth: CreateAuth });
export const CredentialUpdate = optionalBody(Type.Object({ display_name: Opt(Str(255)), metadata: Opt(MetadataPatch), auth: Opt(UpdateAuth) }));
export const CredentialListQuery = ArchivedListQuery;

/** The public half of a credential: what responses show. */
export const Credential = Type.Object({
  type: Type.Literal('vault_credential'),
  id: Type.String(),
  vault_id: Type.String(),
  display_name: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.String()),
  auth: Type.Union([
    Type.Object({
      type: Type.Literal('mcp_oauth'),
      mcp_server_url: Type.String(),
      expires_at: Nullable(Type.String()),
      refresh: Nullable(
        Type.Object({
          client_id: Type.String(),
          token_endpoint: Type.String(),
          token_endpoint_auth: Type.Object({ type: Literals(['none', 'client_secret_basic', 'client_secret_post']) }),
          resource: Nullable(Type.String()),
          scope: Nullable(Type.String()),
        }),
      ),
    }),
    Type.Object({ type: Type.Literal('static_bearer'), mcp_server_url: Type.String() }),
    Type.Object({
      type: Type.Literal('environment_variable'),
      secret_name: Type.String(),
      injection_location: Type.Object({ body: Type.Boolean(), header: Type.Boolean() }),
      networking: Type.Union([
        Type.Object({ type: Type.Literal('unrestricted') }),
        Type.Object({ type: Type.Literal('limited'), allowed_hosts: Type.Array(Type.String()) }),
      ]),
    }),
  ]),
  ...Times,
  archived_at: Nullable(Type.String()),
});

export const CredentialValidation = Type.Object({
  type: Type.Literal('vault_credential_validation'),
  credential_id: Type.String(),
  vault_id: Type.String(),
  validated_at: Type.String(),
  status: Literals(['valid', 'invalid', 'unknown']),
  has_refresh_token: Type.Boolean(),
  mcp_probe: Nullable(Type.Object({})),
  refresh: Nullable(Type.Object({ status: Type.String() })),
});
