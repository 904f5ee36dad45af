-- Tenants, their API tokens, and the Otter resources: groups, policies, webhooks.
-- Timestamps are RFC 3339 UTC text; JSON documents are stored as text, as submitted.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'observer')),
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);

CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);

CREATE TABLE groups (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    config         TEXT NOT NULL,
    launch         TEXT NOT NULL,
    desired        INTEGER NOT NULL,
    paused         INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'ACTIVE',
    error_reasons  TEXT NOT NULL DEFAULT '[]',
    touched_at     TEXT,
    created_at     TEXT NOT NULL
);

CREATE INDEX groups_by_tenant ON groups (tenant_id, id);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    touched_at  TEXT,
    created_at  TEXT NOT NULL
);

CREATE INDEX policies_by_group ON policies (group_id, id);

CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY NOT NULL,
    policy_id        TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    capability_hash  TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL
);

CREATE INDEX webhooks_by_policy ON webhooks (policy_id, id);
