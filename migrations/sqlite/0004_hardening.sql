-- Rejected-request records are bounded in bytes (server.rejected_keep): each row carries
-- the bytes it counts, so the writer can keep a running total and prune oldest first.
ALTER TABLE rejected ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE rejected SET size = length(CAST(headers AS BLOB)) + length(CAST(source AS BLOB)) + length(CAST(error AS BLOB)) + 64;

-- One row that /readyz writes to find out whether a store whose last commit failed can
-- commit again.
CREATE TABLE health (
    id        INTEGER PRIMARY KEY,
    probed_at INTEGER NOT NULL
);
