-- A direction in which policies may not scale a group ('in' or 'out'; NULL: none), beside
-- the full pause of `paused`.
ALTER TABLE groups ADD COLUMN paused_direction TEXT;
