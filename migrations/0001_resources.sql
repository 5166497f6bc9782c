-- Resources: every version of every resource, and one head row per resource.
--
-- resource_versions is append-only: a write inserts the next version (a
-- deletion is a version with deleted = true and no body); rows are never
-- updated. resource_heads holds the current version of each type/id and is
-- the row writers lock (SELECT ... FOR NO KEY UPDATE, or INSERT ... ON
-- CONFLICT for a new id), so that writes to one resource are serialised and
-- version numbers are gap-free without SERIALIZABLE isolation. Later tables
-- (numbered subscription events) are appended in the same transaction as the
-- version they describe.
--
-- type and id use the "C" collation so that ORDER BY id is byte order, the
-- same in every database whatever its default collation (and the same as the
-- in-memory store).

CREATE TABLE resource_versions (
    type         text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    version      bigint           NOT NULL CHECK (version > 0),
    last_updated timestamptz      NOT NULL,
    deleted      boolean          NOT NULL,
    -- The resource JSON with id, meta.versionId and meta.lastUpdated stamped
    -- (they agree with the columns); NULL exactly for deletions. jsonb, so
    -- member order and insignificant whitespace are Postgres's, not the
    -- client's.
    body         jsonb,
    PRIMARY KEY (type, id, version),
    CONSTRAINT resource_versions_body_iff_live CHECK (deleted = (body IS NULL))
);

CREATE TABLE resource_heads (
    type         text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    version      bigint           NOT NULL,
    last_updated timestamptz      NOT NULL,
    deleted      boolean          NOT NULL,
    PRIMARY KEY (type, id),
    -- The head always names a stored version. Deferred: a writer locks (or
    -- creates) the head before it inserts the version.
    CONSTRAINT resource_heads_version_fk FOREIGN KEY (type, id, version)
        REFERENCES resource_versions (type, id, version)
        DEFERRABLE INITIALLY DEFERRED
);

-- Search walks the live heads of one type in (last_updated, id) order.
CREATE INDEX resource_heads_search ON resource_heads (type, last_updated, id) WHERE NOT deleted;
