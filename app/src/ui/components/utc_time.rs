//! Times on pages: views carry RFC 3339 (as the REST API does); pages show
//! them in UTC ("2026-12-01 13:57 UTC"), the same text on the server and in
//! the browser, and once hydrated, hovering shows the viewer's local time.

use crate::domain::time::format_utc;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// "2026-12-01 13:57 UTC" for an RFC 3339 time (a value that does not parse
/// is shown as it is).
pub fn utc_text(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339).map(|t| format_utc(t.with_timezone(&Utc))).unwrap_or_else(|_| rfc3339.to_owned())
}

/// A time shown in UTC inside `<time datetime=…>`; hovering shows local time.
#[component]
pub fn UtcTime(#[prop(into)] at: String) -> impl IntoView {
    let text = utc_text(&at);
    let title = RwSignal::new(text.clone());
    let iso = at.clone();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsValue;
            let d = leptos::web_sys::js_sys::Date::new(&JsValue::from_str(&iso));
            let local: String = d.to_locale_string("default", &JsValue::UNDEFINED).into();
            title.set(format!("{local} (your local time)"));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&iso, title);
    });
    view! { <time class="whitespace-nowrap" datetime=at title=move || title.get()>{text}</time> }
}

/// `UtcTime` for a time that may be missing, with the word for "none".
#[component]
pub fn MaybeUtcTime(at: Option<String>, #[prop(default = "never")] none: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <UtcTime at/> }.into_any(),
        None => none.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_reads_as_utc() {
        assert_eq!(utc_text("2026-12-01T14:57:09+01:00"), "2026-12-01 13:57 UTC");
        assert_eq!(utc_text("not a time"), "not a time");
    }
}
