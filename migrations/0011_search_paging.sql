-- Paging by id (the default search order since this migration; see
-- search.Query.SortKeys). A page of a code's hits walks that code's rows of
-- search_token in id order and the live heads in id order side by side;
-- this index lets the heads' side be an index-only scan (their version and
-- lastUpdated are all a page needs of them) instead of a visit to the heap
-- for every head passed. Built in the migration's transaction, like every
-- index here: on a million resources it holds writes back for a few seconds.
CREATE INDEX resource_heads_live ON resource_heads (type, id) INCLUDE (version, last_updated) WHERE NOT deleted;

-- A code's rows are the same code under several parameters (Observation
-- code and combo-code, for instance) and system and code go together, so
-- the planner's default assumption that type, param, code and system are
-- independent underestimates a common code's hits about fourfold, and it
-- then picks a hash join where walking the index in order is cheaper.
-- Extended statistics give it the combined frequencies.
CREATE STATISTICS search_token_combined (dependencies, mcv) ON type, param, code, system FROM search_token;
ANALYZE search_token;
