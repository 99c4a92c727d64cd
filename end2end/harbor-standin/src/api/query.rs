//! Harbor's list queries (`src/lib/q/builder.go`, `src/lib/orm/query.go`,
//! `BaseAPI.Links` in `src/server/v2.0/handler/base.go`):
//! `q=k=v,k=~v,k=[min~max],k={v1 v2},k=(v1 v2)`, `sort=k1,-k2`, `page`
//! (from 1) and `page_size` (default 10), the `Link` header.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::HarborError;
use crate::spec::validator::parse_bool;

/// A value in a list (`{…}`, `(…)`) or a range bound: time, integer or string.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Time(NaiveDateTime),
    Int(i64),
    Str(String),
}

/// One keyword's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `k=v` (the value stays a string, as in Harbor).
    Exact(String),
    /// `k=~v`: case-insensitive substring.
    Fuzzy(String),
    /// `k=[min~max]`.
    Range(Option<Scalar>, Option<Scalar>),
    /// `k={v1 v2}`: any of.
    Or(Vec<Scalar>),
    /// `k=(v1 v2)`: left to the DAO in Harbor; no list filters by it here.
    And(Vec<Scalar>),
    /// Set by a handler (`ProjectID=0`).
    Int(i64),
    /// Set by a handler (`public=true`).
    Bool(bool),
}

/// A parsed `q`, `sort`, `page` and `page_size`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub keywords: Vec<(String, Cond)>,
    /// (key, descending)
    pub sorts: Vec<(String, bool)>,
    pub page: i64,
    pub page_size: i64,
}

impl Query {
    pub fn get(&self, key: &str) -> Option<&Cond> {
        self.keywords.iter().find(|(k, _)| k == key).map(|(_, c)| c)
    }

    /// Sets (or replaces) a keyword.
    pub fn set(&mut self, key: &str, cond: Cond) {
        match self.keywords.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = cond,
            None => self.keywords.push((key.to_string(), cond)),
        }
    }
}

/// `q.Build`.
pub fn build(q: &str, sort: &str, page: i64, page_size: i64) -> Result<Query, HarborError> {
    Ok(Query {
        keywords: parse_keywords(q)?,
        sorts: parse_sorting(sort),
        page,
        page_size,
    })
}

fn parse_keywords(q: &str) -> Result<Vec<(String, Cond)>, HarborError> {
    let mut keywords: Vec<(String, Cond)> = Vec::new();
    if q.is_empty() {
        return Ok(keywords);
    }
    // Harbor unescapes `q` once more (`q=tags%3Dnil`).
    let q = query_unescape(q).unwrap_or_else(|| q.to_string());
    for param in q.split(',') {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => (k, v),
            _ => {
                return Err(HarborError::bad_request(
                    r#"the query string must contain "=" and the key/value cannot be empty"#,
                ))
            }
        };
        let cond = parse_pattern(value).ok_or_else(|| {
            HarborError::bad_request(format!("invalid query string value: {value}"))
        })?;
        match keywords.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = cond,
            None => keywords.push((key.to_string(), cond)),
        }
    }
    Ok(keywords)
}

fn parse_sorting(sort: &str) -> Vec<(String, bool)> {
    if sort.is_empty() {
        return Vec::new();
    }
    sort.split(',')
        .map(|s| match s.strip_prefix('-') {
            Some(key) => (key.to_string(), true),
            None => (s.to_string(), false),
        })
        .collect()
}

fn parse_pattern(value: &str) -> Option<Cond> {
    match value.as_bytes().first() {
        Some(b'~') => {
            if value.len() < 2 {
                return None;
            }
            Some(Cond::Fuzzy(value[1..].to_string()))
        }
        Some(b'[') => {
            let inner = value.strip_suffix(']')?;
            if value.matches('~').count() != 1 {
                return None;
            }
            let (min, max) = inner[1..].split_once('~')?;
            let (min, max) = (min.trim(), max.trim());
            if min.is_empty() && max.is_empty() {
                return None;
            }
            let bound = |s: &str| (!s.is_empty()).then(|| parse_value(s));
            Some(Cond::Range(bound(min), bound(max)))
        }
        Some(b'{') => Some(Cond::Or(parse_list(value.strip_suffix('}')?)?)),
        Some(b'(') => Some(Cond::And(parse_list(value.strip_suffix(')')?)?)),
        // `\` escapes a leading special character.
        _ => Some(Cond::Exact(
            value.strip_prefix('\\').unwrap_or(value).to_string(),
        )),
    }
}

fn parse_list(value: &str) -> Option<Vec<Scalar>> {
    let inner = value.get(1..)?;
    Some(
        inner
            .split(' ')
            .map(parse_value)
            .filter(|v| *v != Scalar::Str(String::new()))
            .collect(),
    )
}

/// Time (`2006-01-02T15:04:05`), else integer, else a string without quotes.
fn parse_value(value: &str) -> Scalar {
    let value = value.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S") {
        return Scalar::Time(t);
    }
    if let Ok(i) = value.parse::<i64>() {
        return Scalar::Int(i);
    }
    Scalar::Str(value.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape fails.
pub fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A column's value in a row, for filtering and sorting.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Str(String),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
}

impl Field {
    fn text(&self) -> String {
        match self {
            Field::Str(s) => s.clone(),
            Field::Int(i) => i.to_string(),
            Field::Bool(b) => b.to_string(),
            Field::Time(t) => t.to_rfc3339(),
        }
    }

    fn equals(&self, scalar: &Scalar) -> bool {
        match (self, scalar) {
            (Field::Str(f), Scalar::Str(s)) => f == s,
            (Field::Str(f), Scalar::Int(i)) => *f == i.to_string(),
            (Field::Int(f), Scalar::Int(i)) => f == i,
            (Field::Int(f), Scalar::Str(s)) => s.parse::<i64>().ok() == Some(*f),
            (Field::Bool(f), Scalar::Str(s)) => parse_bool(s) == Some(*f),
            (Field::Bool(f), Scalar::Int(i)) => (*i != 0) == *f,
            (Field::Time(f), Scalar::Time(t)) => f.naive_utc() == *t,
            _ => false,
        }
    }

    fn compare(&self, scalar: &Scalar) -> Option<Ordering> {
        match (self, scalar) {
            (Field::Int(f), Scalar::Int(i)) => Some(f.cmp(i)),
            (Field::Time(f), Scalar::Time(t)) => Some(f.naive_utc().cmp(t)),
            (Field::Str(f), Scalar::Str(s)) => Some(f.as_str().cmp(s.as_str())),
            _ => None,
        }
    }

    fn order(&self, other: &Field) -> Ordering {
        match (self, other) {
            (Field::Str(a), Field::Str(b)) => a.cmp(b),
            (Field::Int(a), Field::Int(b)) => a.cmp(b),
            (Field::Bool(a), Field::Bool(b)) => a.cmp(b),
            (Field::Time(a), Field::Time(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

/// Whether a row's field meets a condition.
pub fn meets(field: &Field, cond: &Cond) -> bool {
    match cond {
        Cond::Exact(s) => field.equals(&Scalar::Str(s.clone())),
        Cond::Int(i) => field.equals(&Scalar::Int(*i)),
        Cond::Bool(b) => *field == Field::Bool(*b),
        Cond::Fuzzy(s) => field.text().to_lowercase().contains(&s.to_lowercase()),
        Cond::Range(min, max) => {
            let above = min.as_ref().is_none_or(|m| {
                matches!(field.compare(m), Some(Ordering::Greater | Ordering::Equal))
            });
            let below = max
                .as_ref()
                .is_none_or(|m| matches!(field.compare(m), Some(Ordering::Less | Ordering::Equal)));
            above && below
        }
        Cond::Or(values) => values.iter().any(|v| field.equals(v)),
        Cond::And(_) => true,
    }
}

/// Keeps the rows whose fields meet every keyword; `field(row, key)` names
/// a row's filterable columns (`None`: not a column, the keyword is ignored).
pub fn filter<T>(rows: Vec<T>, query: &Query, field: impl Fn(&T, &str) -> Option<Field>) -> Vec<T> {
    rows.into_iter()
        .filter(|row| {
            query
                .keywords
                .iter()
                .all(|(key, cond)| match field(row, key) {
                    Some(value) => meets(&value, cond),
                    None => true,
                })
        })
        .collect()
}

/// Sorts by the query's sortable keys, else by `default`; ties keep the
/// rows' order.
pub fn sort<T>(
    rows: &mut [T],
    query: &Query,
    default: &str,
    field: impl Fn(&T, &str) -> Option<Field>,
) {
    let mut keys: Vec<(String, bool)> = query
        .sorts
        .iter()
        .filter(|(k, _)| rows.first().is_none_or(|r| field(r, k).is_some()))
        .cloned()
        .collect();
    if keys.is_empty() {
        keys.push((default.to_string(), false));
    }
    rows.sort_by(|a, b| {
        for (key, desc) in &keys {
            let (Some(x), Some(y)) = (field(a, key), field(b, key)) else {
                continue;
            };
            let order = x.order(&y);
            if order != Ordering::Equal {
                return if *desc { order.reverse() } else { order };
            }
        }
        Ordering::Equal
    });
}

/// The query's page of `rows` (no limit when `page_size` <= 0).
pub fn page<T>(rows: Vec<T>, query: &Query) -> Vec<T> {
    if query.page_size <= 0 {
        return rows;
    }
    let size = usize::try_from(query.page_size).unwrap_or(usize::MAX);
    let skip = if query.page > 0 {
        usize::try_from((query.page - 1).saturating_mul(query.page_size)).unwrap_or(usize::MAX)
    } else {
        0
    };
    rows.into_iter().skip(skip).take(size).collect()
}

/// Harbor's `Link` header for a page: `<url>; rel="prev" , <url>; rel="next"`,
/// the URL being the request's path and query with `page` and `page_size`
/// set (keys sorted, values unescaped, as Go's `url.Values` leaves them).
/// Empty when there is no other page.
pub fn links(
    path: &str,
    pairs: &[(String, String)],
    total: i64,
    page: i64,
    page_size: i64,
) -> String {
    if page_size == 0 {
        return String::new();
    }
    let url = |page: i64| {
        let mut kept: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "page_size")
            .cloned()
            .collect();
        kept.push(("page".into(), page.to_string()));
        kept.push(("page_size".into(), page_size.to_string()));
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        let query: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{path}?{}", query.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 && (page - 1).saturating_mul(page_size) < total {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    if page_size.saturating_mul(page) < total {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
    }
    links.join(" , ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_q_like_harbor() {
        let q = build("name=robot$foo,Level=system", "", 1, 10).expect("q");
        assert_eq!(q.get("name"), Some(&Cond::Exact("robot$foo".into())));
        assert_eq!(q.get("Level"), Some(&Cond::Exact("system".into())));
        let q = build("name=~foo", "-creation_time,name", 1, 10).expect("q");
        assert_eq!(q.get("name"), Some(&Cond::Fuzzy("foo".into())));
        assert_eq!(
            q.sorts,
            vec![("creation_time".into(), true), ("name".into(), false)]
        );
        let q = build("id=[1~5],name={a b}", "", 1, 10).expect("q");
        assert_eq!(
            q.get("id"),
            Some(&Cond::Range(Some(Scalar::Int(1)), Some(Scalar::Int(5))))
        );
        assert_eq!(
            q.get("name"),
            Some(&Cond::Or(vec![
                Scalar::Str("a".into()),
                Scalar::Str("b".into())
            ]))
        );
        // Unescaped once more: %2C is a separator, + a space.
        let q = build("name%3Da%2Cdescription%3D~x+y", "", 1, 10).expect("q");
        assert_eq!(q.get("description"), Some(&Cond::Fuzzy("x y".into())));
        for bad in ["name", "name=", "=x", "name=~", "id=[1~2", "id=[~]"] {
            let err = build(bad, "", 1, 10).expect_err(bad);
            assert_eq!(err.code, "BAD_REQUEST");
        }
    }

    #[test]
    fn filters_sorts_and_pages() {
        let rows: Vec<(i64, &str)> = vec![(1, "b"), (2, "a"), (3, "ab"), (4, "c")];
        let field = |r: &(i64, &str), k: &str| match k {
            "id" => Some(Field::Int(r.0)),
            "name" => Some(Field::Str(r.1.to_string())),
            _ => None,
        };
        let q = build("name=~A,colour=red", "", 1, 10).expect("q");
        let mut found = filter(rows.clone(), &q, field);
        sort(&mut found, &q, "name", field);
        assert_eq!(found, vec![(2, "a"), (3, "ab")]);
        let q = build("id=[2~]", "-id", 2, 2).expect("q");
        let mut found = filter(rows, &q, field);
        sort(&mut found, &q, "name", field);
        assert_eq!(page(found, &q), vec![(2, "a")]);
    }

    #[test]
    fn links_like_harbor() {
        let pairs = vec![
            ("q".to_string(), "name=~x".to_string()),
            ("page".to_string(), "2".to_string()),
        ];
        assert_eq!(
            links("/api/v2.0/robots", &pairs, 25, 2, 10),
            "</api/v2.0/robots?page=1&page_size=10&q=name=~x>; rel=\"prev\" , \
             </api/v2.0/robots?page=3&page_size=10&q=name=~x>; rel=\"next\""
        );
        assert_eq!(links("/api/v2.0/robots", &[], 10, 1, 10), "");
        assert_eq!(
            links("/api/v2.0/robots", &[], 11, 1, 10),
            "</api/v2.0/robots?page=2&page_size=10>; rel=\"next\""
        );
    }
}
