-- WebSocket binding tokens and tickets (subscription.TokenStore), kept in
-- the database so that a token issued by one node is redeemable on any.
--
-- Only the SHA-256 of a secret is stored, never the secret: a leaked
-- database or backup holds no usable token. A ticket is consumed by
-- DELETE ... WHERE hash = $1 RETURNING ..., so of concurrent consumers on
-- any nodes exactly one gets the row (the others wait on its row lock and
-- then find nothing). Expiry is judged against the caller's clock, not the
-- database's; PruneTokens deletes expired rows by expires_at.

CREATE TABLE ws_tokens (
    hash             bytea       PRIMARY KEY CHECK (octet_length(hash) = 32),
    kind             text        NOT NULL, -- 'binding-token' or 'ticket'
    -- The subscriptions the token may bind, in the order the issuer gave.
    subscription_ids text[]      NOT NULL,
    expires_at       timestamptz NOT NULL,
    -- When the authorization behind the token ends; NULL: never.
    auth_expires_at  timestamptz,
    subject          text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- PruneTokens deletes by expires_at.
CREATE INDEX ws_tokens_expires_at ON ws_tokens (expires_at);
