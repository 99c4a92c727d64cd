//! What every request shares: the application state, request metadata and
//! the error boundary (`respond`), sessions, the CSP nonce, rate limits,
//! password hashing (argon2id) and high-entropy secret hashing.

pub mod csp;
pub mod metrics;
pub mod password;
pub mod ratelimit;
pub mod request;
pub mod sealer;
pub mod secrets;
pub mod session;
pub mod state;

pub use request::{respond, RequestMeta};
pub use state::{AppState, AuthSettings, RegistrySettings};
