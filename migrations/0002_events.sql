-- Event logs: one numbered log per subscription, appended in the
-- transaction of the write that matched it.
--
-- subscription_event_heads holds each subscription's counter. A writer
-- reserves numbers with INSERT ... ON CONFLICT DO UPDATE on that row, which
-- locks it until the writer's transaction ends: concurrent writers queue on
-- the row, and a writer that rolls back gives its numbers back, so numbers
-- are gap-free and unique in READ COMMITTED. Head rows are never deleted
-- (pruning leaves them), so numbers are never reused.
--
-- subscription_events holds the events. prune_at is the latest `at` of this
-- event and of every event numbered before it in its subscription (the head
-- carries it forward as last_at): it never decreases along a log, so
-- deleting by prune_at removes a prefix of each log and what is retained is
-- always a contiguous range of numbers, even when the writers' clocks
-- disagree.

CREATE TABLE subscription_event_heads (
    subscription_id text COLLATE "C" PRIMARY KEY,
    last_number     bigint      NOT NULL CHECK (last_number > 0),
    last_at         timestamptz NOT NULL
);

CREATE TABLE subscription_events (
    subscription_id    text COLLATE "C" NOT NULL,
    number             bigint      NOT NULL CHECK (number > 0),
    at                 timestamptz NOT NULL, -- the focus version's lastUpdated
    prune_at           timestamptz NOT NULL,
    interaction        text        NOT NULL,
    focus_type         text COLLATE "C" NOT NULL,
    focus_id           text COLLATE "C" NOT NULL,
    focus_version      bigint      NOT NULL,
    -- Relative references ("Patient/123"), a JSON array of strings.
    additional_context jsonb       NOT NULL DEFAULT '[]',
    -- The focus version's body for full-resource subscriptions; NULL otherwise.
    resource           jsonb,
    PRIMARY KEY (subscription_id, number)
);

-- PruneEvents deletes the oldest events first.
CREATE INDEX subscription_events_prune ON subscription_events (prune_at);
