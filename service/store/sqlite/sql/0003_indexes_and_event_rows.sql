-- Faster plans for a conference's active participants, and compact event rows.
-- participants_active indexed every active participant of the whole service,
-- and the planner walked it for per-conference queries: replace it with an
-- index on the conference's active participants in creation order.
DROP INDEX participants_active;
CREATE INDEX participants_conference_active
    ON participants (conference_sid, seq) WHERE active = 1;

-- events was WITHOUT ROWID, so each row's JSON (about 1.3 KB) spilled to an
-- overflow page. A rowid table with a unique key keeps rows in their pages.
CREATE TABLE events_new (
    conference_sid TEXT NOT NULL,
    revision INTEGER NOT NULL,
    account_sid TEXT NOT NULL,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    call_sid TEXT,
    data TEXT NOT NULL,
    UNIQUE (conference_sid, revision)
);
INSERT INTO events_new (conference_sid, revision, account_sid, time, type, call_sid, data)
    SELECT conference_sid, revision, account_sid, time, type, call_sid, data FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
ANALYZE;
