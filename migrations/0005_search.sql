-- Search indexes: the values each live resource yields for the search
-- parameters of its type (package fhir/search extracts them, from the same
-- FHIRPath expressions the subscription matcher evaluates). A write
-- replaces the rows of its resource in the same transaction as the
-- version; a deletion removes them. Rows exist only for live heads.
--
-- One table per value kind, each with a B-tree per way it is searched,
-- keyed (type, param, value…, id) so that a selective parameter is one
-- index range scan that yields ids, and (type, id, param) so that a write
-- finds its old rows and sorts and chains join by resource. sort holds bit
-- 1 on the row a resource sorts by ascending (its smallest value) and bit 2
-- on the row it sorts by descending (its largest), so that _sort walks an
-- index too. Texts use the "C" collation: byte order, the same as Go's,
-- and LIKE 'prefix%' can use the index.

CREATE TABLE search_token (
    type   text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    param  text COLLATE "C" NOT NULL,
    system text COLLATE "C" NOT NULL, -- '' for a code without system
    code   text COLLATE "C" NOT NULL,
    sort   smallint NOT NULL DEFAULT 0
);
CREATE INDEX search_token_code ON search_token (type, param, code, system, id);
CREATE INDEX search_token_resource ON search_token (type, id, param);

-- string parameters (folded for the default and :contains, exact as
-- written), uri parameters (exact), and the texts of token parameters for
-- :text (param "code:text").
CREATE TABLE search_string (
    type   text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    param  text COLLATE "C" NOT NULL,
    folded text COLLATE "C" NOT NULL,
    exact  text COLLATE "C" NOT NULL,
    sort   smallint NOT NULL DEFAULT 0
);
CREATE INDEX search_string_folded ON search_string (type, param, folded, id);
CREATE INDEX search_string_exact ON search_string (type, param, exact);
CREATE INDEX search_string_resource ON search_string (type, id, param);

-- ref as written; target_type/target_id when it names a resource (relative
-- or absolute); canonical is the url of a versioned canonical "url|v".
CREATE TABLE search_reference (
    type        text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    param       text COLLATE "C" NOT NULL,
    ref         text COLLATE "C" NOT NULL,
    target_type text COLLATE "C",
    target_id   text COLLATE "C",
    canonical   text COLLATE "C",
    sort        smallint NOT NULL DEFAULT 0
);
CREATE INDEX search_reference_target ON search_reference (type, param, target_id, target_type, id);
CREATE INDEX search_reference_ref ON search_reference (type, param, ref);
CREATE INDEX search_reference_resource ON search_reference (type, id, param);

-- [lo, hi) at the value's precision; an open Period bound is ±infinity.
CREATE TABLE search_date (
    type  text COLLATE "C" NOT NULL,
    id    text COLLATE "C" NOT NULL,
    param text COLLATE "C" NOT NULL,
    lo    timestamptz NOT NULL,
    hi    timestamptz NOT NULL,
    sort  smallint NOT NULL DEFAULT 0
);
CREATE INDEX search_date_lo ON search_date (type, param, lo, id);
CREATE INDEX search_date_hi ON search_date (type, param, hi, id);
CREATE INDEX search_date_resource ON search_date (type, id, param);

-- number and quantity parameters; system/code/unit are '' for numbers.
CREATE TABLE search_number (
    type   text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    param  text COLLATE "C" NOT NULL,
    value  numeric NOT NULL,
    system text COLLATE "C" NOT NULL DEFAULT '',
    code   text COLLATE "C" NOT NULL DEFAULT '',
    unit   text COLLATE "C" NOT NULL DEFAULT '',
    sort   smallint NOT NULL DEFAULT 0
);
CREATE INDEX search_number_value ON search_number (type, param, value, id);
CREATE INDEX search_number_resource ON search_number (type, id, param);

-- What the index holds: the extractor version it was built with, and the
-- position of an unfinished (re)index, so that it resumes. One row.
CREATE TABLE search_index_state (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version     text NOT NULL,          -- '' until the first full build
    building    text,                   -- the version being built, NULL when none
    cursor_type text COLLATE "C" NOT NULL DEFAULT '',
    cursor_id   text COLLATE "C" NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO search_index_state (version) VALUES ('');
