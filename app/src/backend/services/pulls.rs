//! Pull history: who in an organisation pulled what, from where
//! (`db::pulls`, filled by the gateway and by the registry's pull
//! notifications). Customers read their organisation's, admins any
//! customer's; the CSV export is the same list as a file.

use crate::backend::db::{self, Db};
use crate::domain::time::{parse_time, rfc3339, BareDate};
use crate::error::AppError;
use crate::views::{PullFilterView, PullView};

/// A page; the export takes at most `EXPORT_MAX` rows.
pub const PAGE: i64 = 100;
pub const EXPORT_MAX: i64 = 50_000;

fn text<'a>(field: &str, v: &'a Option<String>, max: usize) -> Result<Option<&'a str>, AppError> {
    let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::invalid(field, format!("at most {max} characters, no control characters")));
    }
    Ok(Some(v))
}

fn view(r: db::pulls::PullRow) -> PullView {
    PullView {
        id: r.id,
        occurred_at: rfc3339(r.occurred_at),
        member: r.member_email,
        credential: r.credential,
        credential_name: r.credential_name,
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
        ip: r.ip,
        user_agent: r.user_agent,
        source: r.source,
    }
}

/// Pulls of organisation `org` matching `f`, newest first, at most `limit`.
pub async fn list(db: &Db, org: i64, f: &PullFilterView, limit: i64) -> Result<Vec<PullView>, AppError> {
    let from = match text("from", &f.from, 40)? {
        Some(v) => Some(parse_time(v, BareDate::StartOfDay).map_err(|m| AppError::invalid("from", m))?),
        None => None,
    };
    let to = match text("to", &f.to, 40)? {
        Some(v) => Some(parse_time(v, BareDate::NextDay).map_err(|m| AppError::invalid("to", m))?),
        None => None,
    };
    if f.before.is_some_and(|b| b < 1) {
        return Err(AppError::invalid("before", "a pull id (a positive number)"));
    }
    let filter = db::pulls::PullFilter {
        organisation_id: org,
        repository: text("repository", &f.repository, 255)?,
        member: text("member", &f.member, 254)?,
        credential: text("credential", &f.credential, 200)?,
        from,
        to,
        before: f.before,
    };
    Ok(db::pulls::list(db, &filter, limit).await?.into_iter().map(view).collect())
}

/// The same list as CSV (spreadsheet-safe fields), at most `EXPORT_MAX` rows.
pub async fn csv(db: &Db, org: i64, f: &PullFilterView) -> Result<String, AppError> {
    let rows = list(db, org, &PullFilterView { before: None, ..f.clone() }, EXPORT_MAX).await?;
    let field = crate::domain::text::csv_field;
    let opt = |v: &Option<String>| v.as_deref().map(field).unwrap_or_default();
    let mut out = String::from("id,occurred_at,member,credential,credential_name,repository,tag,digest,ip,user_agent,source\r\n");
    for r in rows {
        let line = [
            r.id.to_string(),
            r.occurred_at.clone(),
            opt(&r.member),
            opt(&r.credential),
            opt(&r.credential_name),
            field(&r.repository),
            opt(&r.tag),
            opt(&r.digest),
            opt(&r.ip),
            opt(&r.user_agent),
            r.source.as_str().to_owned(),
        ];
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}
