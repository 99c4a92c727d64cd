//! Demo mode: well-known accounts with fresh random passwords, printed at
//! start so a newcomer can log in at once. Never enabled implicitly.

use crate::backend::services::audit::Actor;
use crate::backend::services::{catalogue, entitlements, users};
use crate::backend::db;
use crate::backend::db::Db;
use crate::backend::web::request::RequestMeta;
use crate::backend::web::session::random_token;
use crate::domain::{
    access::EntitlementSource,
    catalogue::{PriceKind, PriceSpec, ProductStatus},
    Email, Password, Role,
};
use crate::error::AppError;
use chrono::{Duration, Utc};

pub const DEMO_ADMIN: &str = "admin@demo.portcullis.test";
pub const DEMO_AUDITOR: &str = "auditor@demo.portcullis.test";
pub const DEMO_CUSTOMER: &str = "customer@demo.portcullis.test";

/// One demo account and the password it was given at this start.
#[derive(Clone)]
pub struct DemoAccount {
    pub email: &'static str,
    pub role: Role,
    pub password: String,
}

/// Creates the demo accounts, or gives existing ones a fresh password (the
/// old one was printed once and is kept nowhere). Both are audited.
pub async fn seed(db: &Db) -> Result<Vec<DemoAccount>, users::CreateUserError> {
    let mut out = Vec::new();
    for (email, role) in [(DEMO_ADMIN, Role::Admin), (DEMO_AUDITOR, Role::Auditor), (DEMO_CUSTOMER, Role::Customer)] {
        let parsed = Email::parse(email).expect("demo e-mail addresses are valid");
        let password = random_token(20);
        let pw = Password::parse(&password, Some(email)).expect("random 20-character password passes the rules");
        match users::create(db, &parsed, &pw, role, Actor::System, &RequestMeta::default()).await {
            Ok(_) => {}
            Err(users::CreateUserError::EmailTaken) => {
                users::reset_password(db, &parsed, &pw, Actor::System, &RequestMeta::default()).await?;
            }
            Err(e) => return Err(e),
        }
        out.push(DemoAccount { email, role, password });
    }
    Ok(out)
}

struct DemoProduct {
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    repositories: &'static [&'static str],
    prices: &'static [(PriceKind, i64)],
    contact_sales: bool,
}

const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        slug: "acme-widget",
        name: "Acme Widget",
        description: "The **Acme Widget** server and its plug-ins.\n\n- `acme/widget`: the server\n- `acme/widget-*`: every plug-in image",
        repositories: &["acme/widget", "acme/widget-*"],
        prices: &[(PriceKind::Monthly, 4_900), (PriceKind::Yearly, 49_000), (PriceKind::Trial { days: 14 }, 0)],
        contact_sales: false,
    },
    DemoProduct {
        slug: "acme-toolkit",
        name: "Acme Toolkit",
        description: "Command-line tools for Acme deployments, bought once with a year of updates.",
        repositories: &["acme/toolkit"],
        prices: &[(PriceKind::OneTime { months: 12 }, 99_000)],
        contact_sales: false,
    },
    DemoProduct {
        slug: "acme-gadget-enterprise",
        name: "Acme Gadget Enterprise",
        description: "Gadget with enterprise support and an SLA. Priced per deal: talk to us.",
        repositories: &["acme/gadget", "acme/gadget-enterprise"],
        prices: &[],
        contact_sales: true,
    },
];

/// Publishes the demo products that do not exist yet and, the first time,
/// gives the demo customer a year of Acme Widget. Returns the products made.
pub async fn seed_catalogue(db: &Db) -> Result<usize, AppError> {
    let meta = RequestMeta::default();
    let mut made = 0;
    for p in PRODUCTS {
        if db::products::find_by_slug(db, p.slug).await?.is_some() {
            continue;
        }
        let input = catalogue::ProductInput {
            name: p.name.into(),
            slug: Some(p.slug.into()),
            description: p.description.into(),
            contact_sales: p.contact_sales,
            repositories: p.repositories.iter().map(|r| r.to_string()).collect(),
        };
        let prices: Vec<PriceSpec> = p
            .prices
            .iter()
            .filter_map(|(kind, cents)| PriceSpec::parse(*kind, *cents, "usd").ok())
            .collect();
        let product = catalogue::create(db, &input, &prices, Actor::System, &meta).await?;
        catalogue::set_status(db, product.id, ProductStatus::Published, Actor::System, &meta).await?;
        made += 1;
        if p.slug == "acme-widget" {
            let email = Email::parse(DEMO_CUSTOMER).map_err(|e| AppError::invalid("email", e))?;
            if let Some(customer) = db::users::find_by_email(db, &email).await? {
                let now = Utc::now();
                let grant = entitlements::Grant {
                    customer_id: customer.id,
                    product_id: product.id,
                    source: EntitlementSource::Manual,
                    starts_at: now,
                    ends_at: Some(now + Duration::days(365)),
                    note: Some("demo data".into()),
                };
                entitlements::grant(db, &grant, Actor::System, &meta).await?;
            }
        }
    }
    Ok(made)
}
