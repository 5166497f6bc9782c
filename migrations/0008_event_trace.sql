-- The W3C traceparent of the write that appended each event, when tracing
-- is on (NULL otherwise): the node that delivers the event, whichever it
-- is, parents its delivery span on the write's trace.
ALTER TABLE subscription_events ADD COLUMN trace text;
