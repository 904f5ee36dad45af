-- Collectors of groups: each document as submitted (its secrets included), found by group.
CREATE TABLE collectors (
    id          TEXT PRIMARY KEY NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX collectors_by_group ON collectors (group_id, id);
