//! The auditor's reads of `audit_events`: the filters (`Filter`), the one
//! parameterised WHERE they make (JSON operators per dialect), and the
//! keyset search and the one-event read, both under a time limit
//! (`db::bounded`). See ARCHITECTURE.md, *Audit log*, for the plans.

use super::{about_organisation, AuditRow, COLUMNS, EVENTS};
use crate::backend::db::{
    audit_search,
    bounded::{on_bounded, Bounded, Conn, QueryError},
    Db,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

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
