//! Pages anyone may open: the home page, the catalogue and a product, log in
//! and sign up.

pub mod auth;
pub mod catalogue;
pub mod home;
