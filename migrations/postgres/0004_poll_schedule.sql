-- The next run's time of each poll source (after interval, idle_interval or backoff) and
-- its consecutive failures, so whichever node polls next keeps the schedule.
ALTER TABLE poll_state ADD COLUMN IF NOT EXISTS next_run_at BIGINT;
ALTER TABLE poll_state ADD COLUMN IF NOT EXISTS failures INTEGER NOT NULL DEFAULT 0;
