-- Destinations an operator paused: every claim skips them, on every node, across restarts.
CREATE TABLE IF NOT EXISTS paused_destinations (
    destination TEXT    PRIMARY KEY,
    paused_at   BIGINT NOT NULL
);

-- Alerts: at most one open row per (kind, subject); `notified` is the last state whose
-- notification was queued, so a crash between opening and queueing is made good later.
CREATE TABLE IF NOT EXISTS alerts (
    id          TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    state       TEXT    NOT NULL,  -- open | resolved
    opened_at   BIGINT NOT NULL,
    resolved_at BIGINT,
    detail      TEXT    NOT NULL,
    notified    TEXT,              -- open | resolved
    reminded_at BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (kind, subject) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS alerts_newest ON alerts (opened_at);

-- When each source last brought an event, written about once a second by each node.
CREATE TABLE IF NOT EXISTS source_activity (
    source        TEXT    PRIMARY KEY,
    last_event_at BIGINT NOT NULL
);

-- What a rejected request needs to be verified again: its raw body, all its headers
-- (signatures included; never shown) and the URL it was sent to.
ALTER TABLE rejected ADD COLUMN IF NOT EXISTS body BYTEA;
ALTER TABLE rejected ADD COLUMN IF NOT EXISTS raw_headers TEXT;
ALTER TABLE rejected ADD COLUMN IF NOT EXISTS url TEXT;
CREATE INDEX IF NOT EXISTS rejected_source_at ON rejected (source, at);
