-- More free space per page for HOT updates: with large windows most rows of
-- a hot page change in one flush, and at fillfactor 70 some of those updates
-- found no room and had to write index entries (make bench: HOT share of
-- updates under 95% in a one-replica drain). Applies to pages written from
-- now on; `VACUUM FULL tokens` rewrites the existing ones.
ALTER TABLE tokens SET (fillfactor = 60);
