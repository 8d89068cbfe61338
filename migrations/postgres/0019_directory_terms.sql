-- The directory's index: each word of a person's name, address and organisation, and the
-- whole address, case folded (domain/directory_terms.rs). A search reads a range of terms
-- (the words a query word begins) instead of scanning every account, so it costs the same
-- with 500 accounts or 500,000. Filled when an account is created or its organisation is
-- renamed; existing accounts are indexed at the first start after this migration. Terms
-- compare byte by byte ("C"), as on SQLite, so a prefix is one range of the index.
CREATE TABLE directory_terms (
    term     TEXT COLLATE "C" NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (term, user_id)
);
CREATE INDEX directory_terms_user ON directory_terms (user_id, term);

-- The directory without a query lists the first people by name.
CREATE INDEX users_listed_by_name ON users (name);
