-- A bucket of the search index holds every word with the same first three letters. A
-- mailbox with many distinct words sharing them (reference numbers, say) made one bucket
-- so large that every search of it read megabytes. Once a bucket grows past a size it is
-- split by words' first five letters into shards, and a search for a longer word reads
-- one shard. Rows written before are not split yet (-1): intake splits them.
ALTER TABLE search_postings ADD COLUMN shard INTEGER NOT NULL DEFAULT -1;
DROP INDEX search_postings_bucket;
CREATE INDEX search_postings_shard ON search_postings (user_id, bucket, shard, id);
