-- Per-minute aggregates of groups' metrics, for history queries: slot -1 is the group's
-- aggregated points, 0.. a member slot's samples. Written once a minute in one transaction.
CREATE TABLE metric_minutes (
    group_id TEXT NOT NULL,
    metric   TEXT NOT NULL,
    slot     INTEGER NOT NULL,
    minute   BIGINT NOT NULL,
    value    BIGINT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (group_id, metric, slot, minute)
);
CREATE INDEX metric_minutes_by_minute ON metric_minutes (minute);
