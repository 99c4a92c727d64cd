//! Hostile names and descriptions on every page that shows them: products,
//! customers, notes, credential and API key names, actor labels, user
//! agents, query parameters. Each page is read the way a browser's parser
//! reads it (html5ever's tokenizer, switched to RCDATA for `<title>` and
//! `<textarea>` and to script data for `<script>`, as the tree builder
//! does), and no injected element or attribute may survive: the title and
//! the textareas hold exactly the hostile text, every script carries the
//! response's nonce, no element has an event handler or a `style`.

use crate::support::audit::{record, Ev};
use crate::support::{client, Backend, TestApp, PASSWORD};
use app::backend::db;
use app::backend::db::orders::NewOrder;
use app::backend::services::audit::{chain, Actor, Outcome};
use app::backend::services::catalogue::ProductInput;
use app::backend::services::entitlements::Grant;
use app::backend::services::{api_keys, catalogue, credentials, customers, entitlements};
use app::backend::web::RequestMeta;
use app::domain::access::EntitlementSource;
use app::domain::catalogue::{PriceKind, PriceSpec, ProductStatus};
use app::domain::credential::CredentialKind;
use app::domain::order::OrderMode;
use app::domain::Role;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use reqwest::{Client, StatusCode};
use std::cell::RefCell;

on_both_backends!(hostile_text_stays_text_on_every_page);

const TITLE_BREAKER: &str = r#"</title><meta http-equiv="refresh" content="0;url=https://evil.example">"#;
const TEXTAREA_BREAKER: &str = "</textarea><script>alert(1)</script>";
const ATTR_BREAKER: &str = r#""><img src=x onerror=alert(1)>"#;
const QUOTE_BREAKER: &str = "' onmouseover='x";
const HOSTILE: [&str; 4] = [TITLE_BREAKER, TEXTAREA_BREAKER, ATTR_BREAKER, QUOTE_BREAKER];
/// Each hostile product's repository.
const REPOS: [&str; 4] = ["acme/hostile-0", "acme/hostile-1", "acme/hostile-2", "acme/hostile-3"];

/// A description a textarea must give back exactly: a leading newline (the
/// parser eats one after `<textarea>`), text that looks escaped, every breaker.
fn description() -> String {
    format!("\n{TEXTAREA_BREAKER}\n&amp; &lt;b&gt; {ATTR_BREAKER}\n{QUOTE_BREAKER}\n{TITLE_BREAKER}")
}

async fn hostile_text_stays_text_on_every_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let ua = format!("{ATTR_BREAKER}{QUOTE_BREAKER}");
    let meta = RequestMeta { ip: Some("203.0.113.9".parse().unwrap()), user_agent: Some(ua.clone()), request_id: None };
    let actor = || Actor::ApiKey { id: 1, name: QUOTE_BREAKER.into() };

    let (admin_email, customer_email) = ("hostile-admin@example.com", "hostile-customer@example.com");
    let admin_id = app.create_user(admin_email, PASSWORD, Role::Admin).await;
    let customer = customers::create(db, customer_email, Some(TITLE_BREAKER), Some(PASSWORD), actor(), &meta).await.unwrap();
    let mut products = Vec::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        let input = ProductInput {
            name: name.to_string(),
            slug: Some(format!("hostile-{i}")),
            description: description(),
            contact_sales: true,
            repositories: vec![REPOS[i].into()],
        };
        let price = PriceSpec { kind: PriceKind::Monthly, amount_cents: 4900, currency: "usd".into() };
        let p = catalogue::create(db, &input, &[price], actor(), &meta).await.unwrap();
        catalogue::set_status(db, p.id, ProductStatus::Published, actor(), &meta).await.unwrap();
        let grant = Grant {
            customer_id: customer.id,
            product_id: p.id,
            source: EntitlementSource::Manual,
            starts_at: chrono::Utc::now() - chrono::Duration::days(1),
            ends_at: None,
            note: Some(name.to_string()),
        };
        entitlements::grant(db, &grant, actor(), &meta).await.unwrap();
        credentials::create(db, customer.id, CredentialKind::Pull, name, None, None, actor(), &meta).await.unwrap();
        credentials::create(db, admin_id, CredentialKind::Push, name, None, None, actor(), &meta).await.unwrap();
        api_keys::create(db, name, Role::Auditor, actor(), &meta).await.unwrap();
        // A pull of each product's repository: the charts' legend names the product.
        let pull = Ev { repo: Some(REPOS[i]), ..Ev::new("registry.pull", Outcome::Success, chrono::Utc::now()) };
        record(db, pull).await;
        products.push(p);
    }
    let mut tx = db.begin().await.unwrap();
    let order = NewOrder {
        customer_id: customer.id,
        product_id: products[0].id,
        price_id: products[0].prices[0].id,
        mode: OrderMode::Subscription,
        amount_cents: 4900,
        currency: "usd",
        checkout_session_id: "cs_hostile",
    };
    db::orders::insert(&mut tx, &order, chrono::Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    chain::seal_pending(db).await.unwrap();

    let admin = log_in(&app, admin_email).await;
    let customer_client = log_in(&app, customer_email).await;
    let anonymous = client();
    let q = |s: &str| app::views::urlencode(s);

    // What each page must show as text (proof that the data is on it).
    let mut pages: Vec<(&Client, String, Vec<&str>)> = vec![
        (&anonymous, "/catalogue".into(), HOSTILE.to_vec()),
        (&admin, "/admin/products".into(), HOSTILE.to_vec()),
        (&admin, "/admin/customers".into(), vec![TITLE_BREAKER]),
        (&admin, format!("/admin/customers/{}", customer.id), HOSTILE.to_vec()),
        (&admin, format!("/admin/customers?q={}", q(ATTR_BREAKER)), vec![]),
        (&admin, format!("/admin/users?q={}", q(ATTR_BREAKER)), vec![]),
        (&admin, "/admin/api-keys".into(), HOSTILE.to_vec()),
        (&admin, "/admin/push-credentials".into(), HOSTILE.to_vec()),
        (&admin, "/admin".into(), HOSTILE.to_vec()),
        (&admin, "/audit".into(), HOSTILE.to_vec()),
        (&customer_client, "/account".into(), HOSTILE.to_vec()),
        (&customer_client, "/account/credentials".into(), HOSTILE.to_vec()),
        (&customer_client, "/account/orders".into(), vec![TITLE_BREAKER]),
        (&customer_client, "/account/organisation".into(), vec![]),
        (&customer_client, format!("/account/pulls?repository={}&member={}", q(ATTR_BREAKER), q(QUOTE_BREAKER)), vec![]),
    ];
    for (i, p) in products.iter().enumerate() {
        pages.push((&anonymous, format!("/catalogue/hostile-{i}"), vec![HOSTILE[i]]));
        pages.push((&admin, format!("/admin/products/{}", p.id), vec![HOSTILE[i]]));
    }
    for row in db::audit::list_recent(db, None, 1000).await.unwrap().iter().filter(|r| r.user_agent.as_deref() == Some(&ua)) {
        pages.push((&admin, format!("/audit/events/{}", row.id), vec![ua.as_str(), QUOTE_BREAKER]));
    }
    let mut read_pages = std::collections::HashMap::new();
    for (who, path, shown) in pages {
        let page = read(&app, who, &path, StatusCode::OK).await;
        for text in shown {
            assert!(page.text.contains(text), "{path} shows {text:?} as text:\n{}", page.text);
        }
        read_pages.insert(path, page);
    }

    for (i, p) in products.iter().enumerate() {
        // The title holds exactly the product's name, on the server as it was.
        let page = &read_pages[&format!("/catalogue/hostile-{i}")];
        assert_eq!(page.title.as_deref(), Some(format!("{} · Portcullis", HOSTILE[i]).as_str()));
        // The edit form gives back exactly what was saved: the name in its
        // input, the description in its textarea.
        let page = &read_pages[&format!("/admin/products/{}", p.id)];
        assert_eq!(page.attr("input", "name", "value"), Some(HOSTILE[i]), "the name input's value");
        assert_eq!(page.textarea("description"), Some(description().as_str()));
        assert_eq!(page.textarea("repositories"), Some(REPOS[i]));
    }
    // Attributes: the user agent in the audit list's tooltip, a query
    // parameter back in its input, a `next` in its hidden field.
    let audit = &read_pages["/audit"];
    assert!(audit.tags.iter().any(|(name, attrs)| name == "td" && attrs.iter().any(|(k, v)| k == "title" && *v == ua)));
    let search = read(&app, &admin, &format!("/audit?q={}", q(TITLE_BREAKER)), StatusCode::OK).await;
    assert_eq!(search.attr("input", "q", "value"), Some(TITLE_BREAKER));
    let login = read(&app, &anonymous, &format!("/login?next={}", q(ATTR_BREAKER)), StatusCode::OK).await;
    assert_eq!(login.attr("input", "next", "value"), Some(ATTR_BREAKER));
    read(&app, &anonymous, &format!("/catalogue/{}", q(TITLE_BREAKER)), StatusCode::NOT_FOUND).await;
}

/// A client with the session of `email` (password `PASSWORD`).
async fn log_in(app: &TestApp, email: &str) -> Client {
    let c = client();
    let res = app.call(&c, "login", &[("email", email), ("password", PASSWORD)]).await;
    assert!(res.status().is_success(), "login as {email}: {}", res.status());
    c
}

/// GETs `path`, checks its status, parses it and checks that nothing was injected.
async fn read(app: &TestApp, who: &Client, path: &str, status: StatusCode) -> Page {
    let res = app.get(who, path).await;
    assert_eq!(res.status(), status, "{path}");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the policy").to_owned();
    let page = Page::parse(&res.text().await.unwrap());
    page.assert_nothing_injected(path, &nonce);
    page
}

/// A page as the browser's tokenizer reads it.
#[derive(Default)]
struct Page {
    /// Every start tag: its name and attributes (values decoded).
    tags: Vec<(String, Vec<(String, String)>)>,
    /// The document's `<title>`, decoded.
    title: Option<String>,
    /// Each textarea's name and value (what its form would submit).
    textareas: Vec<(String, String)>,
    /// All other text outside scripts, decoded.
    text: String,
}

impl Page {
    fn parse(html: &str) -> Page {
        let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
        let input = BufferQueue::default();
        input.push_back(StrTendril::from(html));
        let _ = tokenizer.feed(&input);
        tokenizer.end();
        tokenizer.sink.page.take()
    }

    /// Attribute `attr` of the `tag` whose `name` attribute is `name`.
    fn attr(&self, tag: &str, name: &str, attr: &str) -> Option<&str> {
        self.tags.iter().filter(|(t, attrs)| t == tag && attr_of(attrs, "name") == Some(name)).find_map(|(_, attrs)| attr_of(attrs, attr))
    }

    fn textarea(&self, name: &str) -> Option<&str> {
        self.textareas.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn assert_nothing_injected(&self, path: &str, nonce: &str) {
        for (tag, attrs) in &self.tags {
            let attr = |key: &str| attr_of(attrs, key);
            assert!(!["base", "iframe", "object", "embed", "style", "frame"].contains(&tag.as_str()), "{path}: a <{tag}>");
            assert!(!(tag == "meta" && attr("http-equiv").is_some()), "{path}: <meta {attrs:?}>");
            assert!(!(tag == "img" && attr("src") == Some("x")) || path.starts_with("/catalogue/hostile-"), "{path}: <img {attrs:?}>");
            assert!(tag != "script" || attr("nonce") == Some(nonce), "{path}: a script without the nonce: {attrs:?}");
            for (key, value) in attrs {
                assert!(!key.starts_with("on") && key != "style" && key != "srcdoc", "{path}: <{tag} {key}={value:?}>");
                assert!(!value.trim_start().to_ascii_lowercase().starts_with("javascript:"), "{path}: <{tag} {key}={value:?}>");
            }
        }
        assert!(self.title.as_deref().is_some_and(|t| t.ends_with("Portcullis")), "{path}: title {:?}", self.title);
    }
}

/// The value of attribute `key`.
fn attr_of<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Collects a `Page`, switching the tokenizer's state the way the tree
/// builder does for the elements that matter here (outside `<svg>`, whose
/// `<title>` is an ordinary element).
#[derive(Default)]
struct Sink {
    page: RefCell<Page>,
    /// The element whose raw text is being read: (tag, name attribute, text).
    raw: RefCell<Option<(String, String, String)>>,
    svg_depth: RefCell<usize>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut page = self.page.borrow_mut();
        let mut raw = self.raw.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                let mut svg_depth = self.svg_depth.borrow_mut();
                if tag.kind == TagKind::EndTag {
                    if name == "svg" {
                        *svg_depth = svg_depth.saturating_sub(1);
                    }
                    match raw.take() {
                        Some((t, _, text)) if t == "title" && name == t => page.title = Some(text),
                        // The tree builder drops a newline right after `<textarea>`.
                        Some((t, n, text)) if t == "textarea" && name == t => {
                            page.textareas.push((n, text.strip_prefix('\n').unwrap_or(&text).to_owned()))
                        }
                        other => *raw = other.filter(|(t, ..)| *t != name),
                    }
                    return TokenSinkResult::Continue;
                }
                let attrs: Vec<(String, String)> = tag.attrs.iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect();
                let name_attr = attr_of(&attrs, "name").unwrap_or_default().to_owned();
                page.tags.push((name.clone(), attrs));
                if name == "svg" && !tag.self_closing {
                    *svg_depth += 1;
                }
                let kind = match name.as_str() {
                    "title" | "textarea" if *svg_depth == 0 => RawKind::Rcdata,
                    "script" => RawKind::ScriptData,
                    "style" | "noscript" | "iframe" | "noembed" | "noframes" | "xmp" => RawKind::Rawtext,
                    _ => return TokenSinkResult::Continue,
                };
                *raw = Some((name, name_attr, String::new()));
                TokenSinkResult::RawData(kind)
            }
            Token::CharacterTokens(text) => {
                match raw.as_mut() {
                    Some((_, _, buf)) => buf.push_str(&text),
                    None => page.text.push_str(&text),
                }
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}
