-- Rest-hook delivery (subscription.DeliveryStore): one row per rest-hook
-- subscription that has been delivered, holding its durable cursor, its
-- failure record and the lease that makes one node at a time deliver it.
--
-- A lease is taken or renewed by one INSERT ... ON CONFLICT DO UPDATE ...
-- WHERE the lease is free, expired or already the caller's: the row lock
-- makes concurrent claims queue, and of two nodes exactly one sees its
-- RETURNING row. Expiry uses the database clock (clock_timestamp()), so
-- nodes whose clocks disagree cannot take leases from each other early.
-- Every state write is fenced by the holder (WHERE lease_holder = $holder),
-- so a node that lost its lease, for instance after a long pause, cannot
-- move the cursor; cursor = GREATEST(cursor, $new) keeps it monotonic.

CREATE TABLE rest_hook_deliveries (
    subscription_id      text COLLATE "C" PRIMARY KEY,
    cursor               bigint      NOT NULL DEFAULT 0 CHECK (cursor >= 0),
    handshake            boolean     NOT NULL DEFAULT false,
    notifications        bigint      NOT NULL DEFAULT 0,
    events               bigint      NOT NULL DEFAULT 0,
    failures             bigint      NOT NULL DEFAULT 0,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    failing_since        timestamptz,
    next_attempt         timestamptz,
    error                text        NOT NULL DEFAULT '',
    error_code           text        NOT NULL DEFAULT '',
    last_success         timestamptz,
    lease_holder         text        NOT NULL DEFAULT '',
    lease_expires        timestamptz NOT NULL DEFAULT '-infinity'
);
