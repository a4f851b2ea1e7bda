-- Dedupe keys move out of the events table: a unique index over providers' random ids
-- wrote one random page per event. The writer keeps its newest keys in memory and merges
-- them here in key order; every event up to dedupe_merged.seq has its key here.
CREATE TABLE dedupe_keys (
    dedupe_group TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    seq          INTEGER NOT NULL,  -- events.seq of the first event of the key
    PRIMARY KEY (dedupe_group, dedupe_key)
) WITHOUT ROWID;
INSERT INTO dedupe_keys (dedupe_group, dedupe_key, seq)
    SELECT dedupe_group, dedupe_key, seq FROM events ORDER BY dedupe_group, dedupe_key;

CREATE TABLE dedupe_merged (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO dedupe_merged (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;

-- The events table again, without UNIQUE (dedupe_group, dedupe_key).
CREATE TABLE events_keyed_apart (
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
    traceparent  TEXT
);
INSERT INTO events_keyed_apart (seq, id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at,
                                content_type, headers, body, traceparent)
    SELECT seq, id, source, dedupe_group, dedupe_key, type, via, received_at, occurred_at,
           content_type, headers, body, traceparent FROM events;
DROP TABLE events;
ALTER TABLE events_keyed_apart RENAME TO events;
