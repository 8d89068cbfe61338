-- Team mailboxes: a functional mailbox (a sheriff summary team, a court unit) with its
-- own address, age identity and mail. It is a users row with is_team = 1, so every
-- mailbox table serves it unchanged; it has no password and never signs in. Its
-- identity is kept only wrapped to each member (and to the deployment's recovery key,
-- as every identity is): an administrator who is not a member holds no wrap.
ALTER TABLE users ADD COLUMN is_team INTEGER NOT NULL DEFAULT 0;

-- A team's members: each holds the team's identities wrapped with age to them. A
-- manager may add members (wrapping in their own session) and remove them.
CREATE TABLE team_members (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES users (id),
    member_id   INTEGER NOT NULL REFERENCES users (id),
    is_manager  INTEGER NOT NULL DEFAULT 0,
    wrapped     BLOB    NOT NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);

-- Which member has a team's letter in hand (assigned by a colleague or claimed).
ALTER TABLE mailbox_entries ADD COLUMN assigned_to INTEGER REFERENCES users (id);
