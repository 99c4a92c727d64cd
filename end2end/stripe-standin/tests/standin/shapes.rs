//! The committed key file against Stripe's fixtures (when ../shared is here),
//! and the pinned API version.

use std::path::PathBuf;

use serde_json::Value;

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
}

#[test]
fn committed_keys_match_the_fixtures() {
    let fixtures = workspace_root().join("../shared/specs/stripe-fixtures3.json");
    let Ok(text) = std::fs::read_to_string(&fixtures) else {
        println!("skipped: ../shared not present ({})", fixtures.display());
        return;
    };
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let committed: Value = serde_json::from_str(include_str!("../fixture_keys.json")).unwrap();
    let committed = committed["resources"].as_object().unwrap();
    assert!(committed.len() >= 16);
    for resource in ["dispute", "invoice_payment"] {
        assert!(committed.contains_key(resource), "{resource}");
    }
    for (resource, keys) in committed {
        let mut want: Vec<&str> = fixtures["resources"][resource]
            .as_object()
            .unwrap_or_else(|| panic!("fixtures lost `{resource}`"))
            .keys()
            .map(String::as_str)
            .collect();
        want.sort_unstable();
        let have: Vec<&str> = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(
            have, want,
            "{resource}: regenerate with tests/fixture_keys.py"
        );
    }
}

#[test]
fn api_version_is_the_one_async_stripe_pins() {
    assert_eq!(
        stripe_shared::version::VERSION.as_str(),
        stripe_standin::API_VERSION
    );
}

/// The harness is not vacuous: a missing required field fails async-stripe's
/// decoder, and a missing or extra key fails the key check.
#[tokio::test]
async fn the_checks_catch_incomplete_objects() {
    let w = crate::support::world().await;
    let product = w.post("/v1/products", &[("name", "Probe")]).await;
    let mut broken = product.clone();
    broken.as_object_mut().unwrap().remove("images");
    let body = broken.to_string();
    let decoded = std::panic::catch_unwind(|| {
        crate::support::decode::<stripe_shared::Product>(&body, "product")
    });
    assert!(decoded.is_err());
    let missing = std::panic::catch_unwind(|| crate::support::assert_keys("product", &broken));
    assert!(missing.is_err());
    let mut extra = product.clone();
    extra["surprise"] = Value::Bool(true);
    let extra = std::panic::catch_unwind(|| crate::support::assert_keys("product", &extra));
    assert!(extra.is_err());
}
