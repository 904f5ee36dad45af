-- What the operator allows each tenant to run as local_process members. No row: nothing.
-- The allow-lists are JSON arrays of absolute paths; NULL means any.

CREATE TABLE local_process_grants (
    tenant_id     TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    enabled       INTEGER NOT NULL,
    commands      TEXT,
    working_dirs  TEXT
);
