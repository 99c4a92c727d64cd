//! A customer's own pages: products (`/account`), registry credentials,
//! orders and the Stripe checkout's return page.

pub mod checkout;
pub mod credentials;
pub mod orders;
pub mod products;
