-- The audit trail (issue 28): one record per change, with its actor; kept
-- for its own window (audit_retention_seconds), apart from the event log.
CREATE TABLE audit_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_sid TEXT NOT NULL,
    time REAL NOT NULL,
    conference_sid TEXT NOT NULL,
    revision INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    resource TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_sid TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX audit_records_account ON audit_records (account_sid, id);
CREATE INDEX audit_records_time ON audit_records (time);

-- Which participants hold a number, by a keyed hash of it (never the number:
-- service/core/personal.py), for look-up and erasure by number.
CREATE TABLE number_index (
    account_sid TEXT NOT NULL,
    digest TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL,
    PRIMARY KEY (account_sid, digest, call_sid)
) WITHOUT ROWID;
CREATE INDEX number_index_call ON number_index (conference_sid, call_sid);
