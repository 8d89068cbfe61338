-- Cases, their participants and plea negotiations.
-- Reference and court are routing metadata (lists, filters, access requests) and stay in
-- clear; title, accused and charges exist only in each participant's own encrypted copy
-- (`case_participants.details`); offer terms are encrypted to the case's participants.

CREATE TABLE cases (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  BIGINT  NOT NULL REFERENCES organisations (id),
    reference        TEXT    NOT NULL,
    court            TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'concluded')),
    created_by       BIGINT  NOT NULL REFERENCES users (id),
    created_at       BIGINT  NOT NULL,
    UNIQUE (organisation_id, reference)
);

CREATE TABLE case_participants (
    case_id   BIGINT  NOT NULL REFERENCES cases (id),
    user_id   BIGINT  NOT NULL REFERENCES users (id),
    side      TEXT    NOT NULL CHECK (side IN ('prosecution', 'defence')),
    added_by  BIGINT  REFERENCES users (id),
    added_at  BIGINT  NOT NULL,
    details   BYTEA   NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_participants_user ON case_participants (user_id);

-- A defence agent asking to be added to a case, by reference.
CREATE TABLE case_access_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       BIGINT  NOT NULL REFERENCES cases (id),
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    requested_at  BIGINT  NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
    decided_by    BIGINT  REFERENCES users (id),
    decided_at    BIGINT 
);
CREATE INDEX case_access_requests_case ON case_access_requests (case_id, status);

ALTER TABLE threads ADD COLUMN case_id BIGINT  REFERENCES cases (id);
-- Copied from the thread so that folder lists filter by case without a join.
ALTER TABLE mailbox_entries ADD COLUMN case_id BIGINT  REFERENCES cases (id);
CREATE INDEX mailbox_case ON mailbox_entries (user_id, case_id, sent_at DESC, id DESC);

-- One negotiation per case, carried by a plea thread.
CREATE TABLE plea_negotiations (
    thread_id        BIGINT PRIMARY KEY REFERENCES threads (id),
    case_id          BIGINT  NOT NULL UNIQUE REFERENCES cases (id),
    state            TEXT    NOT NULL CHECK (state IN ('open', 'offer_pending', 'agreed', 'closed')),
    version          BIGINT  NOT NULL DEFAULT 0,
    offered_by_side  TEXT    CHECK (offered_by_side IN ('prosecution', 'defence')),
    respond_by       BIGINT ,
    opened_by        BIGINT  NOT NULL REFERENCES users (id),
    opened_at        BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);

CREATE TABLE plea_offers (
    thread_id    BIGINT  NOT NULL REFERENCES plea_negotiations (thread_id),
    version      BIGINT  NOT NULL,
    side         TEXT    NOT NULL CHECK (side IN ('prosecution', 'defence')),
    proposed_by  BIGINT  NOT NULL REFERENCES users (id),
    made_at      BIGINT  NOT NULL,
    respond_by   BIGINT ,
    outcome      TEXT    NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'accepted', 'rejected', 'countered', 'withdrawn', 'lapsed')),
    answered_by  BIGINT  REFERENCES users (id),
    answered_at  BIGINT ,
    message_id   BIGINT  NOT NULL REFERENCES messages (id),
    terms        BYTEA   NOT NULL,
    PRIMARY KEY (thread_id, version)
);
