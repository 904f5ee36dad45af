-- Members (the processes or servers of a group), and groups that are being deleted:
-- a deleted group is hidden from the API at once and removed once its members are gone.

ALTER TABLE groups ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;

CREATE TABLE members (
    id          TEXT PRIMARY KEY NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    port        INTEGER NOT NULL,
    pid         INTEGER,
    created_at  TEXT NOT NULL
);

CREATE INDEX members_by_group ON members (group_id, id);
