-- The trace an event's ingest span belongs to (W3C traceparent), so its deliveries join it.
ALTER TABLE events ADD COLUMN IF NOT EXISTS traceparent TEXT;
