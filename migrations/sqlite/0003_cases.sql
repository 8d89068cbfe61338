-- Cases, their participants and plea negotiations.
-- Reference and court are routing metadata (lists, filters, access requests) and stay in
-- clear; title, accused and charges exist only in each participant's own encrypted copy
-- (`case_participants.details`); offer terms are encrypted to the case's participants.

CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    reference        TEXT    NOT NULL,
    court            TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'concluded')),
    created_by       INTEGER NOT NULL REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    UNIQUE (organisation_id, reference)
);

CREATE TABLE case_participants (
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    side      TEXT    NOT NULL CHECK (side IN ('prosecution', 'defence')),
    added_by  INTEGER REFERENCES users (id),
    added_at  INTEGER NOT NULL,
    details   BLOB    NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_participants_user ON case_participants (user_id);

-- A defence agent asking to be added to a case, by reference.
CREATE TABLE case_access_requests (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    requested_at  INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
    decided_by    INTEGER REFERENCES users (id),
    decided_at    INTEGER
);
CREATE INDEX case_access_requests_case ON case_access_requests (case_id, status);

ALTER TABLE threads ADD COLUMN case_id INTEGER REFERENCES cases (id);
-- Copied from the thread so that folder lists filter by case without a join.
ALTER TABLE mailbox_entries ADD COLUMN case_id INTEGER REFERENCES cases (id);
CREATE INDEX mailbox_case ON mailbox_entries (user_id, case_id, sent_at DESC, id DESC);

-- One negotiation per case, carried by a plea thread.
CREATE TABLE plea_negotiations (
    thread_id        INTEGER PRIMARY KEY REFERENCES threads (id),
    case_id          INTEGER NOT NULL UNIQUE REFERENCES cases (id),
    state            TEXT    NOT NULL CHECK (state IN ('open', 'offer_pending', 'agreed', 'closed')),
    version          INTEGER NOT NULL DEFAULT 0,
    offered_by_side  TEXT    CHECK (offered_by_side IN ('prosecution', 'defence')),
    respond_by       INTEGER,
    opened_by        INTEGER NOT NULL REFERENCES users (id),
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE plea_offers (
    thread_id    INTEGER NOT NULL REFERENCES plea_negotiations (thread_id),
    version      INTEGER NOT NULL,
    side         TEXT    NOT NULL CHECK (side IN ('prosecution', 'defence')),
    proposed_by  INTEGER NOT NULL REFERENCES users (id),
    made_at      INTEGER NOT NULL,
    respond_by   INTEGER,
    outcome      TEXT    NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'accepted', 'rejected', 'countered', 'withdrawn', 'lapsed')),
    answered_by  INTEGER REFERENCES users (id),
    answered_at  INTEGER,
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    terms        BLOB    NOT NULL,
    PRIMARY KEY (thread_id, version)
);
