-- Type-level and system-level history (subscription.Store.Versions): pages
-- of resource_versions newest first, in the total order (last_updated,
-- type, id, version), walked from a keyset cursor. One B-tree per way it is
-- asked: across every type, and within one type (whose keyset leaves the
-- type out). _since is a lower bound and _at an upper bound on the same
-- leading column, so each page is one index range scan read backwards.

CREATE INDEX resource_versions_history ON resource_versions (last_updated, type, id, version);
CREATE INDEX resource_versions_type_history ON resource_versions (type, last_updated, id, version);
