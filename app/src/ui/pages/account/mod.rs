//! A customer's own pages: products (`/account`), registry credentials,
//! orders, the organisation and its members, the pull history, and the
//! Stripe checkout's return page.

pub mod checkout;
pub mod credentials;
pub mod orders;
pub mod organisation;
pub mod products;
pub mod pulls;
