-- Cluster nodes: each node's latest report of what it holds (WebSocket
-- sockets, and per subscription its bindings, cursors and lag), as JSON
-- (subscription.NodeReport). A node upserts its row every few seconds;
-- readers take the rows reported within a timeout, so a node that stops
-- publishing disappears, and publishers delete rows long dead. reported_at
-- is the database's clock, so nodes' clocks need not agree.

CREATE TABLE cluster_nodes (
    node_id     text        PRIMARY KEY,
    reported_at timestamptz NOT NULL,
    report      jsonb       NOT NULL
);
