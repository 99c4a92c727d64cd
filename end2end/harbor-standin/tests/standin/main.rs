//! The stand-in's own tests, through HTTP with a plain reqwest client (one
//! binary). Tests that send only valid requests end by asserting that no
//! violation of Harbor's spec was recorded, which also proves that every
//! response the stand-in sent matched the spec's declared schema.

mod faults;
mod projects;
mod registry;
mod robots;
mod support;
mod token;
mod validation;
