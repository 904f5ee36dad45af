-- Time windows for capacity bounds: the document of each group, the window whose start was
-- applied, and when the next window starts or ends (integer milliseconds since the epoch).

ALTER TABLE groups ADD COLUMN windows TEXT;
ALTER TABLE groups ADD COLUMN window_active TEXT;

CREATE TABLE window_timers (
    group_id     TEXT PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    next_change  INTEGER NOT NULL
);

CREATE INDEX window_timers_by_time ON window_timers (next_change);
