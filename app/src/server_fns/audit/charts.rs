//! The figures behind the charts: registry pulls per day per product and
//! denials per day, for the last `AUDIT_CHART_DAYS` UTC days, read from the
//! per-day counts the chain's sealer keeps (so up to a second behind).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const AUDIT_CHART_DAYS: i64 = 30;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartData {
    /// `YYYY-MM-DD`, oldest first.
    pub days: Vec<String>,
    /// Per product (name), the pulls on each day; "Other" for repositories no product covers.
    pub pulls: Vec<(String, Vec<i64>)>,
    /// Denied events on each day (token refusals, refused calls, rate limits).
    pub denials: Vec<i64>,
}

#[server(prefix = "/fn", endpoint = "audit/charts")]
pub async fn audit_charts() -> Result<ChartData, AppError> {
    use crate::domain::{catalogue::RepoPattern, Role};
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::db;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            let today = chrono::Utc::now().date_naive();
            let first = today - chrono::Duration::days(AUDIT_CHART_DAYS - 1);
            let since = first.format("%Y-%m-%d").to_string();
            let days: Vec<String> = (0..AUDIT_CHART_DAYS).map(|i| (first + chrono::Duration::days(i)).format("%Y-%m-%d").to_string()).collect();
            let index = |d: &str| days.iter().position(|x| x == d);
            let products = catalogue::list(&st.db, None).await?;
            let patterns: Vec<(String, Vec<RepoPattern>)> = products
                .iter()
                .map(|p| (p.name.clone(), p.repositories.iter().filter_map(|r| RepoPattern::parse(r).ok()).collect()))
                .collect();
            let mut pulls: Vec<(String, Vec<i64>)> = Vec::new();
            for (day, repo, n) in db::audit::daily_counts(&st.db, Some("registry.pull"), None, true, &since).await? {
                let Some(i) = index(&day) else { continue };
                let repo = repo.unwrap_or_default();
                let name = patterns.iter().find(|(_, ps)| ps.iter().any(|p| p.matches(&repo))).map_or("Other", |(n, _)| n.as_str());
                let pos = match pulls.iter().position(|(p, _)| p == name) {
                    Some(pos) => pos,
                    None => {
                        pulls.push((name.to_owned(), vec![0; days.len()]));
                        pulls.len() - 1
                    }
                };
                pulls[pos].1[i] += n;
            }
            pulls.sort_by(|a, b| a.0.cmp(&b.0));
            let mut denials = vec![0; days.len()];
            for (day, _, n) in db::audit::daily_counts(&st.db, None, Some("denied"), false, &since).await? {
                if let Some(i) = index(&day) {
                    denials[i] += n;
                }
            }
            Ok(ChartData { days, pulls, denials })
        }
        .await,
    )
}
