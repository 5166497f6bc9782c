-- Resource bodies keep the text fhirbell wrote: json, not jsonb.
--
-- jsonb reorders members (shortest key first, so resourceType came last)
-- and writes ": " and ", " separators; FHIR servers answer with the
-- client's member order after resourceType, id and meta, compact, and so
-- does fhirbell (fhir.Resource.Stamp lays the body out before the insert).
-- json stores the text as given and still checks that it is JSON. Nothing
-- queries inside a body (searches run on the index tables), so no jsonb
-- operator or index is lost. Rows written before this migration keep
-- jsonb's layout, which the REST layer re-lays on the way out
-- (fhir.WireResource).
--
-- Each ALTER rewrites its table once, under an exclusive lock.

ALTER TABLE resource_versions ALTER COLUMN body TYPE json USING body::json;

ALTER TABLE subscription_events ALTER COLUMN resource TYPE json USING resource::json;
