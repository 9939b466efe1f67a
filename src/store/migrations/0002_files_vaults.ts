import { sql, type Kysely } from 'kysely';

// Files, session resources, vaults and credentials. Secrets live only in the `secret` columns,
// sealed by src/vault/crypto.ts; `data` holds the wire object, which never carries a secret.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scope_id', 'text')
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('files_scope').on('files').columns(['scope_id', 'id']).execute();

  await db.schema
    .createTable('session_resources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_resources_session').on('session_resources').columns(['session_id', 'id']).execute();

  await db.schema
    .createTable('vaults')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('vault_id', 'text', (c) => c.notNull())
    .addColumn('auth_type', 'text', (c) => c.notNull())
    // `mcp:<mcp_server_url>` or `env:<secret_name>`: unique per vault among active credentials.
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'text')
    .addColumn('secret', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credentials_vault').on('credentials').columns(['vault_id', 'id']).execute();
  // Both SQLite and Postgres support partial unique indexes: the key is free again once archived.
  await db.schema
    .createIndex('credentials_active_key')
    .on('credentials')
    .columns(['vault_id', 'key'])
    .unique()
    .where(sql.ref('archived_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['credentials', 'vaults', 'session_resources', 'files']) await db.schema.dropTable(t).execute();
}
