-- The team mailbox of the prosecution office that holds a case. Defence agents write
-- "to the case" and the letter reaches this team, whichever depute has the case now.
ALTER TABLE cases ADD COLUMN owner_team_id INTEGER REFERENCES users (id);
