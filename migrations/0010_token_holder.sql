-- The authorization a binding token or ticket was issued under: its
-- holder's client, granted scopes and SMART patient context, besides the
-- subject of 0003. A socket bound with the token is authorised by exactly
-- that (subscription.Grant.Holder), never by the scopes the subscription's
-- owner had when it created it. Rows written before this migration have
-- empty scopes and so authorise no delivery; tokens live ten minutes at
-- most, so that passes at once.
ALTER TABLE ws_tokens
    ADD COLUMN client_id text NOT NULL DEFAULT '',
    ADD COLUMN scope     text NOT NULL DEFAULT '',
    ADD COLUMN patient   text NOT NULL DEFAULT '';
