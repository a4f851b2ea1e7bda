-- Liveness: every node writes its heartbeat here every 2 s. A node not heard from for
-- storage.node_timeout is dead: any node deletes its row and frees its leases.
CREATE TABLE IF NOT EXISTS nodes (
    name         TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
