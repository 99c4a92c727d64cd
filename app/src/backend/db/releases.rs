//! `releases` (when each digest of a repository was released) and
//! `manifest_refs` (what each manifest the gateway read refers to), for the
//! pull gateway's per-version decisions (`services::gateway`).

use crate::backend::db::{Db, Tx};
use crate::domain::release::References;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

pub use crate::domain::pull::ReleaseSource;

/// What a manifest refers to (`manifest_refs.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    /// Its config or a layer.
    Blob,
    /// A manifest an index lists.
    Child,
    /// The manifest a signature, attestation or SBOM is about.
    Subject,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blob => "blob",
            Self::Child => "child",
            Self::Subject => "subject",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Blob, Self::Child, Self::Subject].into_iter().find(|v| v.as_str() == s)
    }
}

crate::text_column!(RefKind, RefKind::parse);

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReleaseRow {
    pub repository: String,
    pub digest: String,
    pub released_at: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    pub source: ReleaseSource,
    pub tag: Option<String>,
    pub set_by: Option<String>,
    /// Manifest, config and layers in bytes, once the gateway read it.
    pub size: Option<i64>,
}

const COLUMNS: &str = "repository, digest, released_at, first_seen, source, tag, set_by, size";
const NOTE: &str = "INSERT INTO releases (repository, digest, released_at, first_seen, source, tag) \
                    VALUES ($1, $2, $3, $3, $4, $5) ON CONFLICT (repository, digest) DO NOTHING";

/// Records the first sight of `digest` (later sights change nothing).
pub async fn note(db: &Db, repository: &str, digest: &str, at: DateTime<Utc>, source: ReleaseSource, tag: Option<&str>) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(NOTE).bind(repository).bind(digest).bind(at).bind(source).bind(tag).execute(pool).await.map(|_| ()))
}

/// The same, in a transaction (push notifications).
pub async fn note_in(tx: &mut Tx, repository: &str, digest: &str, at: DateTime<Utc>, source: ReleaseSource, tag: Option<&str>) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query(NOTE).bind(repository).bind(digest).bind(at).bind(source).bind(tag).execute(conn).await.map(|_| ()))
}

pub async fn find(db: &Db, repository: &str, digest: &str) -> Result<Option<ReleaseRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM releases WHERE repository = $1 AND digest = $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(repository).bind(digest).fetch_optional(pool).await)
}

/// Keeps a release's size (read from its manifest).
pub async fn note_size(db: &Db, repository: &str, digest: &str, size: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE releases SET size = $1 WHERE repository = $2 AND digest = $3 AND (size IS NULL OR size <> $1)";
    on_db!(db, |pool| sqlx::query(sql).bind(size).bind(repository).bind(digest).execute(pool).await.map(|_| ()))
}

/// A vendor admin sets (or backdates) a release time.
pub async fn set(tx: &mut Tx, repository: &str, digest: &str, at: DateTime<Utc>, by: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO releases (repository, digest, released_at, first_seen, source, set_by) VALUES ($1, $2, $3, $4, 'admin', $5) \
               ON CONFLICT (repository, digest) DO UPDATE SET released_at = excluded.released_at, source = 'admin', set_by = excluded.set_by";
    on_tx!(tx, |conn| sqlx::query(sql).bind(repository).bind(digest).bind(at).bind(now).bind(by).execute(conn).await.map(|_| ()))
}

/// The releases of some repositories, newest first, at most `limit`.
pub async fn list(db: &Db, repositories: &[String], limit: i64) -> Result<Vec<ReleaseRow>, sqlx::Error> {
    let mut out = Vec::new();
    for repo in repositories {
        let sql = format!("SELECT {COLUMNS} FROM releases WHERE repository = $1 ORDER BY released_at DESC LIMIT $2");
        let rows: Vec<ReleaseRow> = on_db!(db, |pool| sqlx::query_as(&sql).bind(repo).bind(limit).fetch_all(pool).await)?;
        out.extend(rows);
    }
    out.sort_by(|a, b| b.released_at.cmp(&a.released_at));
    out.truncate(limit.max(0) as usize);
    Ok(out)
}

/// Keeps what `manifest` refers to (idempotent).
pub async fn note_refs(db: &Db, repository: &str, manifest: &str, refs: &References) -> Result<(), sqlx::Error> {
    let rows = refs
        .blobs
        .iter()
        .map(|t| (RefKind::Blob, t))
        .chain(refs.children.iter().map(|t| (RefKind::Child, t)))
        .chain(refs.subject.iter().map(|t| (RefKind::Subject, t)));
    let rows: Vec<(RefKind, &String)> = rows.collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(200) {
        on_tx!(&mut tx, |conn| {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO manifest_refs (repository, manifest, kind, target) ");
            q.push_values(chunk, |mut b, (kind, target)| {
                b.push_bind(repository).push_bind(manifest).push_bind(*kind).push_bind(target.as_str());
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// The manifests of `repository` that refer to `target` as `kind`.
pub async fn referring(db: &Db, repository: &str, target: &str, kind: RefKind, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT manifest FROM manifest_refs WHERE repository = $1 AND target = $2 AND kind = $3 ORDER BY manifest LIMIT $4";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(repository).bind(target).bind(kind).bind(limit).fetch_all(pool).await)
}

/// What `manifest` refers to as `kind`.
pub async fn targets(db: &Db, repository: &str, manifest: &str, kind: RefKind) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT target FROM manifest_refs WHERE repository = $1 AND manifest = $2 AND kind = $3 ORDER BY target";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(repository).bind(manifest).bind(kind).fetch_all(pool).await)
}

/// The digest a tag pointed to at its last push notification.
pub async fn tag_digest(db: &Db, repository: &str, tag: &str) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT digest FROM repository_tags WHERE repository = $1 AND tag = $2";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(repository).bind(tag).fetch_optional(pool).await)
}

/// The tags of `repository` that name another digest (cosign's
/// `sha256-<hex>.sig|.att|.sbom`), from push notifications and the gateway.
pub async fn subject_tags(db: &Db, repository: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT tag FROM repository_tags WHERE repository = $1 AND tag LIKE 'sha256-%' \
               UNION SELECT tag FROM releases WHERE repository = $1 AND tag LIKE 'sha256-%'";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(repository).fetch_all(pool).await)
}
