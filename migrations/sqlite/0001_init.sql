-- Events: one row per distinct dedupe key of a dedupe group, raw body as received.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    source       TEXT    NOT NULL,
    dedupe_group TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    type         TEXT,
    via          TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,  -- unix ms
    occurred_at  INTEGER,           -- unix ms
    content_type TEXT,
    headers      TEXT    NOT NULL,  -- JSON [[name, value], ...]
    body         BLOB    NOT NULL,
    UNIQUE (dedupe_group, dedupe_key)
);

-- One delivery per (event, destination), created in the event's transaction. Keyed by
-- (event_seq, destination) without a rowid: one B-tree instead of a table plus an index.
CREATE TABLE deliveries (
    event_seq       INTEGER NOT NULL,  -- events.seq; deleted with its event by pruning
    destination     TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,  -- schedule steps used
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (event_seq, destination)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE state = 'pending';

-- Every attempt of every delivery.
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    event_seq        INTEGER NOT NULL,
    destination      TEXT    NOT NULL,
    at               INTEGER NOT NULL,  -- unix ms
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (event_seq, destination);

-- Rejected requests, bounded: the writer trims the oldest rows.
CREATE TABLE rejected (
    id        INTEGER PRIMARY KEY,
    source    TEXT    NOT NULL,
    error     TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    headers   TEXT    NOT NULL,
    body_size INTEGER NOT NULL
);
