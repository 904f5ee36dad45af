-- Each tenant's cloud settings: its identity endpoint, user and secret, region and project,
-- as a document (the secret is in it: it is used, never shown).
CREATE TABLE tenant_clouds (
    tenant_id  TEXT PRIMARY KEY NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document   TEXT NOT NULL
);
