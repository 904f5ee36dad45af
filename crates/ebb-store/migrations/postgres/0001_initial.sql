-- Ebb's schema on PostgreSQL: the same tables as SQLite's migrations 0001 to 0006 lead to.
-- Documents are stored as submitted (TEXT, not JSONB, which would reorder their keys);
-- RFC 3339 times are TEXT, and times that are compared are BIGINT milliseconds since the epoch.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'observer')),
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);

CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);

CREATE TABLE local_process_grants (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    enabled       BOOLEAN NOT NULL,
    commands      TEXT,
    working_dirs  TEXT
);

CREATE TABLE groups (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    config         TEXT NOT NULL,
    launch         TEXT NOT NULL,
    desired        BIGINT NOT NULL,
    paused         BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL DEFAULT 'ACTIVE',
    error_reasons  TEXT NOT NULL DEFAULT '[]',
    touched_at     TEXT,
    created_at     TEXT NOT NULL,
    deleting       BOOLEAN NOT NULL DEFAULT FALSE,
    windows        TEXT,
    window_active  TEXT
);

CREATE INDEX groups_by_tenant ON groups (tenant_id, id);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    touched_at  TEXT,
    created_at  TEXT NOT NULL
);

CREATE INDEX policies_by_group ON policies (group_id, id);

CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    policy_id        TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    capability_hash  TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL
);

CREATE INDEX webhooks_by_policy ON webhooks (policy_id, id);

CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    provider    TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX members_by_group ON members (group_id, id);

CREATE TABLE schedules (
    policy_id  TEXT PRIMARY KEY REFERENCES policies (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    next_fire  BIGINT NOT NULL
);

CREATE INDEX schedules_by_time ON schedules (next_fire);

CREATE TABLE window_timers (
    group_id     TEXT PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    next_change  BIGINT NOT NULL
);

CREATE INDEX window_timers_by_time ON window_timers (next_change);

CREATE TABLE group_events (
    id         TEXT PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    policy_id  TEXT,
    due        BIGINT,
    message    TEXT NOT NULL
);

CREATE INDEX group_events_by_group ON group_events (group_id, at);

CREATE TABLE history (
    id            TEXT PRIMARY KEY,
    group_id      TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    source        TEXT NOT NULL,
    policy_id     TEXT,
    webhook_id    TEXT,
    from_desired  BIGINT NOT NULL,
    to_desired    BIGINT NOT NULL,
    min_entities  BIGINT NOT NULL,
    max_entities  BIGINT NOT NULL,
    reason        TEXT NOT NULL
);

CREATE INDEX history_by_group ON history (group_id, id);
CREATE INDEX history_by_time ON history (at);
