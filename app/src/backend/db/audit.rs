//! The `audit_events` table: INSERT and SELECT only. There is deliberately no
//! UPDATE or DELETE here (and triggers refuse them in the database). Each
//! insert also writes the event's search text (`db::audit_search`) in the
//! same transaction; the auditor's reads run under a time limit
//! (`db::bounded`).

use crate::backend::db::{
    audit_search,
    bounded::{on_bounded, Bounded, Conn, QueryError},
    Db, Tx,
};
use crate::{
    domain::audit_search::{search_text, Searchable},
    on_db, on_tx,
};
use crate::domain::audit_fields::{
    clean_details, clean_text, ACTOR_MAX, DETAIL_KEY_MAX, IP_MAX, TARGET_MAX, USER_AGENT_MAX,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::{borrow::Cow, time::Duration};

/// A row of `audit_events` as read back.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Json<serde_json::Value>,
    pub subject_user_id: Option<i64>,
    /// The organisation it concerns, as recorded (rows from before
    /// organisations have none: `services::audit::query::organisation_of`).
    pub subject_org_id: Option<i64>,
    /// The organisation it concerns: as recorded, or for events from before
    /// organisations the customer their subject was (mapped at query time).
    pub organisation_id: Option<i64>,
    /// The hash chaining it to the event before (`audit_seals`; NULL until sealed).
    pub chain_hash: Option<String>,
}

/// What one event records; see `crate::backend::services::audit` for the builder.
#[derive(Clone, Debug)]
pub struct NewAuditRow<'a> {
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a serde_json::Value,
    pub subject_user_id: Option<i64>,
    /// `None`: the subject user's organisation, if any (`insert`).
    pub subject_org_id: Option<i64>,
}

/// On PostgreSQL, makes sure the transaction has its id before it takes an
/// event id, which the chain's sealer relies on (`db::audit_chain::horizon`).
async fn xact_first(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_current_xact_id()").execute(&mut **t).await?;
    }
    Ok(())
}

impl AuditRow {
    /// What the text filter searches (`domain::audit_search`), from the
    /// event as read back (the tests' reference scan).
    pub fn search_text(&self) -> String {
        search_text(Searchable {
            actor: &self.actor,
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details.0,
        })
    }
}

/// A row as it is stored: every field cut and cleaned by
/// `domain::audit_fields`, whatever the caller passed.
struct Stored<'a> {
    occurred_at: DateTime<Utc>,
    actor_user_id: Option<i64>,
    actor: Cow<'a, str>,
    action: Cow<'a, str>,
    target_type: Option<Cow<'a, str>>,
    target_id: Option<Cow<'a, str>>,
    outcome: Cow<'a, str>,
    ip: Option<Cow<'a, str>>,
    user_agent: Option<Cow<'a, str>>,
    details: Cow<'a, serde_json::Value>,
    subject_user_id: Option<i64>,
    subject_org_id: Option<i64>,
}

impl<'a> Stored<'a> {
    fn of(row: &NewAuditRow<'a>) -> Self {
        Self {
            occurred_at: row.occurred_at,
            actor_user_id: row.actor_user_id,
            actor: clean_text(row.actor, ACTOR_MAX),
            action: clean_text(row.action, DETAIL_KEY_MAX),
            target_type: row.target_type.map(|t| clean_text(t, DETAIL_KEY_MAX)),
            target_id: row.target_id.map(|t| clean_text(t, TARGET_MAX)),
            outcome: clean_text(row.outcome, DETAIL_KEY_MAX),
            ip: row.ip.map(|t| clean_text(t, IP_MAX)),
            user_agent: row.user_agent.map(|t| clean_text(t, USER_AGENT_MAX)),
            details: clean_details(row.details),
            subject_user_id: row.subject_user_id,
            subject_org_id: row.subject_org_id,
        }
    }

    /// What the text filter searches (`domain::audit_search`).
    fn search_text(&self) -> String {
        search_text(Searchable {
            actor: &self.actor,
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details,
        })
    }
}

pub async fn insert(tx: &mut Tx, row: &NewAuditRow<'_>) -> Result<i64, sqlx::Error> {
    xact_first(tx).await?;
    let row = Stored::of(row);
    let sql = "INSERT INTO audit_events \
        (occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, ip, user_agent, details, \
        subject_user_id, subject_org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
        COALESCE($12, (SELECT organisation_id FROM users WHERE id = $11))) RETURNING id";
    let id: i64 = on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(row.occurred_at)
        .bind(row.actor_user_id)
        .bind(&*row.actor)
        .bind(&*row.action)
        .bind(row.target_type.as_deref())
        .bind(row.target_id.as_deref())
        .bind(&*row.outcome)
        .bind(row.ip.as_deref())
        .bind(row.user_agent.as_deref())
        .bind(Json(&*row.details))
        .bind(row.subject_user_id)
        .bind(row.subject_org_id)
        .fetch_one(conn)
        .await)?;
    audit_search::insert_rows(tx, &[(id, row.search_text())]).await?;
    Ok(id)
}

/// Inserts many events with multi-row INSERTs (the token service's batches),
/// and their search rows.
pub async fn insert_many(tx: &mut Tx, rows: &[NewAuditRow<'_>]) -> Result<(), sqlx::Error> {
    xact_first(tx).await?;
    let rows: Vec<Stored<'_>> = rows.iter().map(Stored::of).collect();
    // 12 binds a row; 400 rows stay far below either backend's bind limit.
    for chunk in rows.chunks(400) {
        let mut ids: Vec<i64> = on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (occurred_at, actor_user_id, actor, action, target_type, target_id, \
                 outcome, ip, user_agent, details, subject_user_id, subject_org_id) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.occurred_at)
                    .push_bind(row.actor_user_id)
                    .push_bind(&*row.actor)
                    .push_bind(&*row.action)
                    .push_bind(row.target_type.as_deref())
                    .push_bind(row.target_id.as_deref())
                    .push_bind(&*row.outcome)
                    .push_bind(row.ip.as_deref())
                    .push_bind(row.user_agent.as_deref())
                    .push_bind(Json(&*row.details))
                    .push_bind(row.subject_user_id)
                    .push_bind(row.subject_org_id);
            });
            q.push(" RETURNING id");
            q.build_query_scalar().fetch_all(conn).await
        })?;
        // One statement takes its ids in the order of its VALUES rows (on
        // PostgreSQL too: the sequence is drawn row by row), whatever order
        // RETURNING lists them in.
        ids.sort_unstable();
        let texts: Vec<(i64, String)> = ids.into_iter().zip(chunk).map(|(id, row)| (id, row.search_text())).collect();
        audit_search::insert_rows(tx, &texts).await?;
    }
    Ok(())
}

/// Newest first, strictly older than `before_id` when given (keyset paging).
pub async fn list_recent(db: &Db, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(before_id).bind(limit).fetch_all(pool).await)
}

/// The columns of `AuditRow`; use with `FROM {EVENTS}` (the event and its seal).
pub(crate) const COLUMNS: &str = "id, occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, \
                                  ip, user_agent, details, subject_user_id, subject_org_id, \
    COALESCE(subject_org_id, (SELECT o.id FROM organisations o WHERE o.id = audit_events.subject_user_id \
      AND audit_events.id <= (SELECT m.audit_upto FROM organisation_migration m WHERE m.id = 1))) AS organisation_id, \
    audit_seals.hash AS chain_hash";
pub(crate) const EVENTS: &str = "audit_events LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id";

/// Events about organisation `$n`: those naming it, and those from before
/// organisations whose subject was the customer (whose id is the
/// organisation's): the mapping at query time that leaves sealed rows as
/// they are.
pub(crate) fn about_organisation(n: usize) -> String {
    format!(
        "(subject_org_id = ${n} OR (subject_org_id IS NULL AND subject_user_id = ${n} \
         AND audit_events.id <= (SELECT audit_upto FROM organisation_migration WHERE id = 1)))"
    )
}

/// The newest events about one organisation (`about_organisation`).
pub async fn list_for_organisation(db: &Db, org: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE {} ORDER BY id DESC LIMIT $2", about_organisation(1));
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).bind(limit).fetch_all(pool).await)
}

/// The newest events by or about one user (as actor or as subject).
pub async fn list_for_user(db: &Db, user_id: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {EVENTS} WHERE subject_user_id = $1 OR actor_user_id = $1 ORDER BY id DESC LIMIT $2"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(pool).await)
}

/// How `Filter::action` matches: one action, or every action under a prefix
/// (`registry.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionMatch {
    Exact(String),
    Prefix(String),
}

/// The auditor's filters, already parsed (`server::audit_query`). Every one
/// is a bound parameter; none is ever spliced into SQL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
    /// The customer (organisation) the event concerns (`about_organisation`).
    pub organisation: Option<i64>,
    /// A person: the event's actor or subject.
    pub member: Option<i64>,
    /// A registry credential's user name (token, pull, push and credential events).
    pub credential: Option<String>,
    /// A repository (`target_id` of a `repository` target).
    pub repository: Option<String>,
    /// A product: `product_condition`.
    pub product: Option<i64>,
    pub action: Option<ActionMatch>,
    pub outcome: Option<String>,
    pub ip: Option<String>,
    /// Text searched for, case-insensitively, as a substring of the event's
    /// search text: actor, target, IP, user agent and detail values
    /// (`domain::audit_search`; `db::audit_search` for the index).
    pub text: Option<String>,
    /// Keyset cursor: only events with a smaller id (older).
    pub before: Option<i64>,
    /// Only events with a larger id (set by `search` itself).
    pub after: Option<i64>,
    /// Only events with this id or a smaller one (set by `search` itself).
    pub upto: Option<i64>,
}

enum Arg<'a> {
    I64(i64),
    Text(&'a str),
    Owned(String),
    Time(DateTime<Utc>),
}

/// The conditions of `f` except the text (see `run`); `postgres` picks the
/// JSON operators' dialect. `id_first` (SQLite) writes the time terms so
/// the planner walks the id range instead of the time index. `id` names the
/// column the id bounds apply to (the search table's key when it leads).
fn conditions<'a>(f: &'a Filter, postgres: bool, id_first: bool, id: &str, args: &mut Vec<Arg<'a>>) -> Vec<String> {
    let mut conds: Vec<String> = Vec::new();
    let mut push = |cond: &str, arg: Arg<'a>, args: &mut Vec<Arg<'a>>| push_cond(&mut conds, cond, arg, args);
    let time = if id_first && !postgres { "+occurred_at" } else { "occurred_at" };
    if let Some(t) = f.from {
        push(&format!("{time} >= ?"), Arg::Time(t), args);
    }
    if let Some(t) = f.to {
        push(&format!("{time} < ?"), Arg::Time(t), args);
    }
    if let Some(id) = f.organisation {
        push(&about_organisation(0).replace("$0", "?"), Arg::I64(id), args);
    }
    if let Some(id) = f.member {
        push("(subject_user_id = ? OR actor_user_id = ?)", Arg::I64(id), args);
    }
    if let Some(c) = &f.credential {
        let expr = if postgres {
            "COALESCE(details->>'username', details->>'credential') = ?"
        } else {
            "COALESCE(json_extract(details, '$.username'), json_extract(details, '$.credential')) = ?"
        };
        push(expr, Arg::Text(c), args);
    }
    if let Some(r) = &f.repository {
        push("target_id = ? AND target_type = 'repository'", Arg::Text(r), args);
    }
    if let Some(p) = f.product {
        push(&product_condition(postgres), Arg::Owned(p.to_string()), args);
    }
    match &f.action {
        Some(ActionMatch::Exact(a)) => push("action = ?", Arg::Text(a), args),
        Some(ActionMatch::Prefix(p)) => push("action LIKE ? ESCAPE '\\'", Arg::Owned(format!("{}%", like_escape(p))), args),
        None => {}
    }
    if let Some(o) = &f.outcome {
        push("outcome = ?", Arg::Text(o), args);
    }
    if let Some(ip) = &f.ip {
        push("ip = ?", Arg::Text(ip), args);
    }
    push_id_bounds(f, id, &mut conds, args);
    conds
}

/// The keyset bounds of `f` on the column `id`. PostgreSQL gets them on
/// both sides of the join with `audit_search`: it does not carry a range
/// across an equality, and a walk of the search table's key from the top
/// would read every newer row first.
fn push_id_bounds<'a>(f: &Filter, id: &str, conds: &mut Vec<String>, args: &mut Vec<Arg<'a>>) {
    if let Some(b) = f.before {
        push_cond(conds, &format!("{id} < ?"), Arg::I64(b), args);
    }
    if let Some(a) = f.after {
        push_cond(conds, &format!("{id} > ?"), Arg::I64(a), args);
    }
    if let Some(u) = f.upto {
        push_cond(conds, &format!("{id} <= ?"), Arg::I64(u), args);
    }
}

/// Adds the condition `cond` (its `?` bound to `arg`, as the next `$n`) to `conds`.
fn push_cond<'a>(conds: &mut Vec<String>, cond: &str, arg: Arg<'a>, args: &mut Vec<Arg<'a>>) {
    args.push(arg);
    conds.push(cond.replace('?', &format!("${}", args.len())));
}

fn where_sql(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

/// The events about a product (its id bound as text to every `?`): the
/// catalogue's changes to it (a `product` target), the events naming it
/// (`product_id` in the details: entitlements, orders, checkouts, access
/// requests) and the decisions and pulls on its exact repositories as they
/// are listed now (a wildcard pattern's repositories are not included: the
/// repository filter finds one of them). Each branch has its index
/// (`audit_events_target`, `audit_events_product`).
fn product_condition(postgres: bool) -> String {
    let (named, id) = if postgres {
        ("details->>'product_id' = ?", "CAST(? AS BIGINT)")
    } else {
        ("json_extract(details, '$.product_id') = CAST(? AS INTEGER)", "CAST(? AS INTEGER)")
    };
    format!(
        "((target_type = 'product' AND target_id = ?) OR {named} \
         OR (target_type = 'repository' AND target_id IN (SELECT pattern FROM product_repositories WHERE product_id = {id})))"
    )
}

/// Does `f` filter on anything the event's own indexes answer (besides its
/// time and id range)?
fn has_event_filters(f: &Filter) -> bool {
    f.organisation.is_some()
        || f.member.is_some()
        || f.credential.is_some()
        || f.repository.is_some()
        || f.product.is_some()
        || f.action.is_some()
        || f.outcome.is_some()
        || f.ip.is_some()
}

/// `s` as a LIKE pattern that matches only itself (escape character `\`).
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// How long one audit read (a page, an export's page, one event) may run
/// unless the configuration says otherwise
/// (`PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS`).
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// One page of events matching `filter`, newest first (keyset on id: a page
/// stays the same while new events arrive, since they only add larger ids).
///
/// A time filter is turned into an id range through `audit_hours` (kept by
/// the chain's sealer), so it too reads the newest matching ids first
/// instead of sorting a whole period: first the events not sealed yet
/// (newer than the sealed head), then the sealed ones inside the range of
/// the filter's hours. The time terms still apply, so the answer is exact.
///
/// Every statement stops at `time_limit` after the start, answering
/// `QueryError::TooBroad` (see `db::bounded`).
pub async fn search(db: &Db, filter: &Filter, limit: i64, time_limit: Duration) -> Result<Vec<AuditRow>, QueryError> {
    let mut b = Bounded::open(db, time_limit).await?;
    let rows = search_in(&mut b, filter, limit).await;
    b.finish().await;
    rows
}

async fn search_in(b: &mut Bounded, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>, QueryError> {
    let limit = limit.clamp(1, 10_000);
    if filter.from.is_none() && filter.to.is_none() {
        return run(b, filter, limit, false).await;
    }
    let sealed: i64 = {
        let sql = "SELECT sealed_id FROM audit_chain WHERE id = 1";
        let r = on_bounded!(b, |conn| sqlx::query_scalar(sql).fetch_one(conn).await);
        r.map_err(|e| b.classify(e))?
    };
    let newest = Filter { after: Some(filter.after.unwrap_or(0).max(sealed)), ..filter.clone() };
    let mut rows = run(b, &newest, limit, true).await?;
    if rows.len() as i64 >= limit {
        return Ok(rows);
    }
    let (lo, hi) = hour_bounds(b, filter).await?;
    let (Some(lo), Some(hi)) = (lo, hi) else { return Ok(rows) };
    let sealed_part = Filter {
        after: Some(filter.after.unwrap_or(0).max(lo - 1)),
        upto: Some(filter.upto.unwrap_or(i64::MAX).min(hi).min(sealed)),
        ..filter.clone()
    };
    rows.extend(run(b, &sealed_part, limit - rows.len() as i64, true).await?);
    Ok(rows)
}

/// The id range holding every sealed event of the filter's hours; `None`
/// on a side means no sealed event there.
async fn hour_bounds(b: &mut Bounded, f: &Filter) -> Result<(Option<i64>, Option<i64>), QueryError> {
    let key = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H").to_string();
    let from = f.from.map_or_else(|| "0000".to_owned(), key);
    let to = f.to.map_or_else(|| "9999".to_owned(), key);
    let sql = "SELECT MIN(min_id), MAX(max_id) FROM audit_hours WHERE hour >= $1 AND hour <= $2";
    let r = on_bounded!(b, |conn| sqlx::query_as(sql).bind(&from).bind(&to).fetch_one(conn).await);
    r.map_err(|e| b.classify(e))
}

/// The share of the time left that SQLite gives its first plan for a text
/// filter combined with event filters (see `run`): a text-led query that
/// has hits ends in milliseconds, so one that runs longer is walking a
/// common text for a rare combination, which the events' indexes find
/// faster.
const FIRST_PLAN_SHARE: u32 = 20;

/// One query for `filter`, newest first. Without text, the events' own
/// indexes answer it. With text:
///
/// - PostgreSQL joins `audit_search` and lets the planner choose between
///   walking ids newest first (checking each event's text by its key) and
///   asking the trigram index (when the statistics say the text is rare).
/// - SQLite lets the FTS5 table lead (it yields matching ids newest first,
///   honouring the id bounds), each match then checked against the other
///   filters. When there are other filters and that runs past a twentieth
///   of the time left (100 ms of the default 2 s), the text is rare among
///   them but common overall: the query is run again led by the events'
///   indexes, reading each candidate's text by its rowid.
async fn run(b: &mut Bounded, filter: &Filter, limit: i64, id_first: bool) -> Result<Vec<AuditRow>, QueryError> {
    let postgres = matches!(b.conn, Conn::Postgres(_));
    let Some(text) = &filter.text else {
        let mut args = Vec::new();
        let wh = where_sql(&conditions(filter, postgres, id_first, "id", &mut args));
        return fetch(b, &format!("SELECT {COLUMNS} FROM {EVENTS}{wh} ORDER BY id DESC LIMIT {limit}"), &args).await;
    };
    if postgres {
        let mut args = Vec::new();
        let mut conds = conditions(filter, postgres, id_first, "audit_events.id", &mut args);
        push_id_bounds(filter, "audit_search.event_id", &mut conds, &mut args);
        match audit_search::pg_match(text) {
            (true, pattern) => push_cond(&mut conds, "audit_search.body LIKE ?", Arg::Owned(pattern), &mut args),
            (false, plain) => push_cond(&mut conds, "strpos(audit_search.body, ?) > 0", Arg::Owned(plain), &mut args),
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events JOIN audit_search ON audit_search.event_id = audit_events.id \
             LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id{} ORDER BY id DESC LIMIT {limit}",
            where_sql(&conds)
        );
        return fetch(b, &sql, &args).await;
    }
    let pattern = audit_search::glob_pattern(text);
    let text_led = {
        let mut args = Vec::new();
        let mut conds = conditions(filter, postgres, id_first, "audit_search.rowid", &mut args);
        push_cond(&mut conds, "audit_search.body GLOB ?", Arg::Text(&pattern), &mut args);
        // CROSS JOIN: SQLite keeps the FTS5 table as the outer loop.
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_search CROSS JOIN audit_events ON audit_events.id = audit_search.rowid \
             LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id{} \
             ORDER BY audit_search.rowid DESC LIMIT {limit}",
            where_sql(&conds)
        );
        (sql, args)
    };
    if !has_event_filters(filter) {
        return fetch(b, &text_led.0, &text_led.1).await;
    }
    let left = b.limit().saturating_sub(b.elapsed());
    b.stop_after(b.elapsed() + left / FIRST_PLAN_SHARE).await?;
    let first = fetch(b, &text_led.0, &text_led.1).await;
    b.stop_after(b.limit()).await?;
    match first {
        Err(QueryError::TooBroad(_)) => {}
        done => return done,
    }
    let mut args = Vec::new();
    let mut conds = conditions(filter, postgres, id_first, "id", &mut args);
    push_cond(&mut conds, "(SELECT body FROM audit_search WHERE rowid = audit_events.id) GLOB ?", Arg::Text(&pattern), &mut args);
    fetch(b, &format!("SELECT {COLUMNS} FROM {EVENTS}{} ORDER BY id DESC LIMIT {limit}", where_sql(&conds)), &args).await
}

async fn fetch(b: &mut Bounded, sql: &str, args: &[Arg<'_>]) -> Result<Vec<AuditRow>, QueryError> {
    let r = on_bounded!(b, |conn| {
        let mut q = sqlx::query_as(sql);
        for a in args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(*v),
                Arg::Owned(v) => q.bind(v.as_str()),
                Arg::Time(v) => q.bind(*v),
            };
        }
        q.fetch_all(conn).await
    });
    r.map_err(|e| b.classify(e))
}

/// One event by id, under the same time limit as `search`.
pub async fn get(db: &Db, id: i64, time_limit: Duration) -> Result<Option<AuditRow>, QueryError> {
    let mut b = Bounded::open(db, time_limit).await?;
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE id = $1");
    let r = on_bounded!(b, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await);
    let r = r.map_err(|e| b.classify(e));
    b.finish().await;
    r
}

/// The largest id so far (0 for an empty log).
pub async fn max_id(db: &Db) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM audit_events";
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
}

/// Sealed events per UTC day from `since` (`YYYY-MM-DD`), from the counts
/// the sealer keeps (`audit_daily`): (day, target id, count), for `action`
/// (or every action) and `outcome` (or every outcome); grouped by target
/// (kept for `registry.pull` only) when `by_target`.
pub async fn daily_counts(
    db: &Db,
    action: Option<&str>,
    outcome: Option<&str>,
    by_target: bool,
    since: &str,
) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
    let (target, group) = if by_target { ("target_id", "day, target_id") } else { ("CAST(NULL AS TEXT)", "day") };
    let sql = format!(
        "SELECT day, {target} AS target, CAST(SUM(n) AS BIGINT) AS n FROM audit_daily \
         WHERE day >= $1 AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR outcome = $3) GROUP BY {group} ORDER BY day"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(since).bind(action).bind(outcome).fetch_all(pool).await)
}
