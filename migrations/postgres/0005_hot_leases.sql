-- Leases change on every claim and renewal: without an index on lease_owner (the rare
-- "free a dead node's leases" scans pending deliveries through deliveries_due instead),
-- and with room left on each page, those updates stay on their page (HOT) and touch no
-- index. The index also misled completions, which check lease_owner, into bitmap scans.
DROP INDEX IF EXISTS deliveries_leased;
ALTER TABLE deliveries SET (fillfactor = 80);
