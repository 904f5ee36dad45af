-- History is appended in the order it is recorded, and found by group through a small index.
--
-- Recording an entry happens in the transaction of every decision, so it has to touch as few
-- pages as it can: the rows go to the end of one b-tree (their sequence number, which is also
-- their id), and only the index entry, two integers, goes to the page of its group. Groups get
-- an integer key of their own for that index; pruning goes oldest first in recorded order.
-- A group's entries are deleted with it by the store, in the same transaction.

ALTER TABLE groups ADD COLUMN history_key INTEGER;
UPDATE groups SET history_key = rowid;
CREATE UNIQUE INDEX groups_by_history_key ON groups (history_key);

CREATE TABLE history_log (
    seq           INTEGER PRIMARY KEY,
    group_key     INTEGER NOT NULL,
    group_id      TEXT NOT NULL,
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

INSERT INTO history_log (group_key, group_id, at, source, policy_id, webhook_id, from_desired, to_desired,
                         min_entities, max_entities, reason)
    SELECT g.history_key, h.group_id, h.at, h.source, h.policy_id, h.webhook_id, h.from_desired, h.to_desired,
           h.min_entities, h.max_entities, h.reason
    FROM history h JOIN groups g ON g.id = h.group_id
    ORDER BY h.id;
DROP TABLE history;
ALTER TABLE history_log RENAME TO history;
CREATE INDEX history_by_group ON history (group_key, seq);
