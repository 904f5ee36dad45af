-- The service broker (Open Service Broker API v2): service instances, with the default
-- policy of the groups bound to them without one of their own (Cloud Foundry's policy
-- document, normalised; NULL: none), and bindings, at most one per group, gone with it.
CREATE TABLE service_instances (
    id                 TEXT PRIMARY KEY NOT NULL,
    service_id         TEXT NOT NULL,
    plan_id            TEXT NOT NULL,
    organization_guid  TEXT NOT NULL,
    space_guid         TEXT NOT NULL,
    default_policy     TEXT,
    created_at         TEXT NOT NULL
);

CREATE TABLE service_bindings (
    id           TEXT PRIMARY KEY NOT NULL,
    instance_id  TEXT NOT NULL REFERENCES service_instances (id),
    group_id     TEXT NOT NULL UNIQUE REFERENCES groups (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL
);

CREATE INDEX service_bindings_by_instance ON service_bindings (instance_id);
