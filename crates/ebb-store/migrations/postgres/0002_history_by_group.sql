-- History entries are keyed by (group, id): one index instead of the key's and the group's,
-- so that recording an entry in a decision's transaction writes as little as it can.

ALTER TABLE history DROP CONSTRAINT history_pkey;
DROP INDEX history_by_group;
ALTER TABLE history ADD PRIMARY KEY (group_id, id);
