-- Poll sources: the committed cursor, a provider's Retry-After pause, and counters.
-- Keyed by source name, so a cursor survives restarts and config edits.
CREATE TABLE poll_state (
    source         TEXT    PRIMARY KEY,
    cursor         TEXT,              -- JSON text of the value, as the provider wrote it
    generation     INTEGER NOT NULL DEFAULT 0,  -- bumped by reset-cursor
    paused_until   INTEGER,           -- unix ms
    last_run_at    INTEGER,
    last_error     TEXT,
    runs           INTEGER NOT NULL DEFAULT 0,
    requests       INTEGER NOT NULL DEFAULT 0,
    empty_polls    INTEGER NOT NULL DEFAULT 0,
    items          INTEGER NOT NULL DEFAULT 0,
    new_events     INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    rate_limited   INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    rejected_items INTEGER NOT NULL DEFAULT 0,
    recovered      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
