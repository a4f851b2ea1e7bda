-- Ordered routes: a delivery's place in its key's order, and the last delivered version
-- of each key (a delivery not newer than it ends as skipped_stale).
ALTER TABLE deliveries ADD COLUMN order_key TEXT;      -- "route index:key", NULL when not ordered
ALTER TABLE deliveries ADD COLUMN order_at INTEGER;    -- occurred_at, else received_at (unix ms)
ALTER TABLE deliveries ADD COLUMN order_version TEXT;  -- JSON text of the payload's version
CREATE INDEX deliveries_order ON deliveries (destination, order_key, order_at, event_seq)
    WHERE state = 'pending' AND order_key IS NOT NULL;

CREATE TABLE order_versions (
    destination TEXT NOT NULL,
    order_key   TEXT NOT NULL,
    version     TEXT NOT NULL,  -- JSON text
    PRIMARY KEY (destination, order_key)
) WITHOUT ROWID;
