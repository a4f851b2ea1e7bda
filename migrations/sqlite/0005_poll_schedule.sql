-- The next run's time of each poll source (after interval, idle_interval or backoff) and
-- its consecutive failures, so a restarted process keeps its schedule.
ALTER TABLE poll_state ADD COLUMN next_run_at INTEGER;
ALTER TABLE poll_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
