-- inlet on PostgreSQL: the same model as the SQLite store (see migrations/sqlite), shared by
-- every node. Times are unix milliseconds.
CREATE TABLE events (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    source       TEXT    NOT NULL,
    dedupe_group TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    type         TEXT,
    via          TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    occurred_at  BIGINT,
    content_type TEXT,
    headers      TEXT    NOT NULL,
    body         BYTEA   NOT NULL,
    UNIQUE (dedupe_group, dedupe_key)
);

CREATE TABLE deliveries (
    event_seq       BIGINT  NOT NULL,
    destination     TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    updated_at      BIGINT  NOT NULL,
    order_key       TEXT,
    order_at        BIGINT,
    order_version   TEXT,
    PRIMARY KEY (event_seq, destination)
);
CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (destination, order_key, order_at, event_seq)
    WHERE state = 'pending' AND order_key IS NOT NULL;

CREATE TABLE attempts (
    id               BIGSERIAL PRIMARY KEY,
    event_seq        BIGINT  NOT NULL,
    destination      TEXT    NOT NULL,
    at               BIGINT  NOT NULL,
    status_code      INTEGER,
    latency_ms       BIGINT  NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (event_seq, destination);

CREATE TABLE rejected (
    id        BIGSERIAL PRIMARY KEY,
    source    TEXT   NOT NULL,
    error     TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    headers   TEXT   NOT NULL,
    body_size BIGINT NOT NULL
);

CREATE TABLE poll_state (
    source         TEXT PRIMARY KEY,
    cursor         TEXT,
    generation     BIGINT NOT NULL DEFAULT 0,
    paused_until   BIGINT,
    last_run_at    BIGINT,
    last_error     TEXT,
    runs           BIGINT NOT NULL DEFAULT 0,
    requests       BIGINT NOT NULL DEFAULT 0,
    empty_polls    BIGINT NOT NULL DEFAULT 0,
    items          BIGINT NOT NULL DEFAULT 0,
    new_events     BIGINT NOT NULL DEFAULT 0,
    duplicates     BIGINT NOT NULL DEFAULT 0,
    rate_limited   BIGINT NOT NULL DEFAULT 0,
    errors         BIGINT NOT NULL DEFAULT 0,
    rejected_items BIGINT NOT NULL DEFAULT 0,
    recovered      BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,            -- the node polling this source
    lease_until    BIGINT
);

CREATE TABLE order_versions (
    destination TEXT NOT NULL,
    order_key   TEXT NOT NULL,
    version     TEXT NOT NULL,
    PRIMARY KEY (destination, order_key)
);
