-- The history of desired capacity: every change and every execution that changed nothing,
-- recorded in the transaction of the decision. And members identified by their provider
-- rather than by a local process id and port. Times are integer milliseconds since the epoch.

CREATE TABLE history (
    id            TEXT PRIMARY KEY NOT NULL,
    group_id      TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    source        TEXT NOT NULL,
    policy_id     TEXT,
    webhook_id    TEXT,
    from_desired  INTEGER NOT NULL,
    to_desired    INTEGER NOT NULL,
    min_entities  INTEGER NOT NULL,
    max_entities  INTEGER NOT NULL,
    reason        TEXT NOT NULL
);

CREATE INDEX history_by_group ON history (group_id, id);
CREATE INDEX history_by_time ON history (at);

ALTER TABLE members ADD COLUMN provider TEXT NOT NULL DEFAULT 'local_process';
ALTER TABLE members ADD COLUMN reference TEXT NOT NULL DEFAULT 'null';
UPDATE members SET reference = json_object('pid', pid, 'port', port);
ALTER TABLE members DROP COLUMN pid;
ALTER TABLE members DROP COLUMN port;
