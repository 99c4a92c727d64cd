-- Pull history (app/src/backend/services/pulls.rs): every manifest pull
-- through the gateway and every pull the registry reports in token mode,
-- with who pulled (credential, member, organisation) and from where (the
-- client address of the gateway connection or of the token request, never
-- the registry's spoofable request.addr). Keep in step with
-- migrations/sqlite/0015_pulls.sql.
CREATE TABLE pulls (
    id              BIGSERIAL PRIMARY KEY,
    occurred_at     TIMESTAMPTZ NOT NULL,
    organisation_id BIGINT NOT NULL,
    user_id         BIGINT,
    credential_id   BIGINT,
    credential      TEXT CHECK (credential IS NULL OR length(credential) <= 200),
    repository      TEXT NOT NULL CHECK (length(repository) <= 255),
    tag             TEXT CHECK (tag IS NULL OR length(tag) <= 128),
    digest          TEXT CHECK (digest IS NULL OR length(digest) <= 200),
    ip              TEXT CHECK (ip IS NULL OR length(ip) <= 64),
    user_agent      TEXT CHECK (user_agent IS NULL OR length(user_agent) <= 300),
    source          TEXT NOT NULL CHECK (source IN ('gateway', 'registry')),
    -- the registry notification's id: a notification sent again adds nothing
    event_id        TEXT UNIQUE CHECK (event_id IS NULL OR length(event_id) <= 200)
);
CREATE INDEX pulls_organisation ON pulls (organisation_id, id);

-- A release's size (manifest, config and layers), once the gateway read
-- its manifest: what the product page shows beside each version.
ALTER TABLE releases ADD COLUMN size BIGINT;
