//! Demo mode: well-known accounts with fresh random passwords, printed at
//! start so a newcomer can log in at once. Never enabled implicitly.

use super::{audit::Actor, db::Db, request::RequestMeta, session::random_token, users};
use crate::domain::{Email, Password, Role};

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
