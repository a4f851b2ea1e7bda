-- Rejected-request records are bounded in bytes (server.rejected_keep): each row carries
-- the bytes it counts, and the oldest are pruned first.
ALTER TABLE rejected ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE rejected SET size = octet_length(headers) + octet_length(source) + octet_length(error) + 64;

-- One row that /readyz writes to find out whether a node whose last commit failed can
-- commit again.
CREATE TABLE IF NOT EXISTS health (
    node      TEXT PRIMARY KEY,
    probed_at BIGINT NOT NULL
);
