-- A group's metric credential (HTTP Basic for custom metrics): its user name and the SHA-256
-- of its password (NULL: none).
ALTER TABLE groups ADD COLUMN credential_username TEXT;
ALTER TABLE groups ADD COLUMN credential_hash TEXT;
