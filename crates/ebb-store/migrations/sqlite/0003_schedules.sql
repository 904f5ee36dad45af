-- The next fire time of every schedule policy, and the events of each group (schedule
-- firings and skips). Times that are compared are integer milliseconds since the epoch.

CREATE TABLE schedules (
    policy_id  TEXT PRIMARY KEY NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    next_fire  INTEGER NOT NULL
);

CREATE INDEX schedules_by_time ON schedules (next_fire);

CREATE TABLE group_events (
    id         TEXT PRIMARY KEY NOT NULL,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    policy_id  TEXT,
    due        INTEGER,
    message    TEXT NOT NULL
);

CREATE INDEX group_events_by_group ON group_events (group_id, at);
