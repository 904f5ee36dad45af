-- A group's metric rules (a Cloud Foundry policy's scaling_rules and custom-metric
-- configuration, as JSON; NULL: the group has no such policy) and the end of the cooldown
-- of the last scale by a rule (milliseconds since the epoch).
ALTER TABLE groups ADD COLUMN rules TEXT;
ALTER TABLE groups ADD COLUMN rules_cooldown_until INTEGER;
