//! The stand-in's own tests: one binary (async-stripe links once).
//! Every API answer and every delivered event is decoded with async-stripe's
//! own types and checked against the fixtures' top-level keys (`support`).

mod api;
mod disputes;
mod invoice_payments;
mod lifecycle;
mod payment;
mod plans;
mod shapes;
mod support;
mod webhooks;
