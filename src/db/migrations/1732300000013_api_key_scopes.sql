-- Up Migration
-- API keys that can be rotated, revoked, expired and scoped (docs/api-keys.md). An account may hold several live keys
-- (rotation: create the new one, move callers, revoke the old). A key is live while revoked_at IS NULL and
-- (expires_at IS NULL OR expires_at > now()), compared on the database's clock; authentication checks it on every
-- request, so a revoke holds from its commit on. The secret is still shown once and only its SHA-256 stored.
ALTER TABLE api_keys
  ADD COLUMN name         text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100),
  -- Keys issued before scopes existed could do everything; they keep all four (src/domain/api-key-scopes.ts).
  ADD COLUMN scopes       text[] NOT NULL DEFAULT ARRAY['read', 'confirm', 'spend', 'refund'],
  ADD COLUMN expires_at   timestamptz,
  -- Touched at most once a minute per key (src/db/api-keys.ts), never a write per request.
  ADD COLUMN last_used_at timestamptz,
  -- The secret's last four characters, so people can tell keys apart; null for keys issued before this.
  ADD COLUMN key_last4    text CHECK (key_last4 IS NULL OR key_last4 ~ '^[A-Za-z0-9_-]{4}$');
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_known
  CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'confirm', 'spend', 'refund']);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_expire_after_creation CHECK (expires_at IS NULL OR expires_at > created_at);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_revoked_after_creation CHECK (revoked_at IS NULL OR revoked_at >= created_at);
CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at);

-- Down Migration
DROP INDEX api_keys_by_account;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_revoked_after_creation;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_expire_after_creation;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_known;
ALTER TABLE api_keys DROP COLUMN key_last4, DROP COLUMN last_used_at, DROP COLUMN expires_at, DROP COLUMN scopes, DROP COLUMN name;
