//! Integration tests of the workforce allocations function: the real
//! PostgreSQL (a fresh copy of the dev dataset per test) and Workload plus
//! its token endpoint as a real local HTTP server.

mod batch;
mod commit_flight;
mod common;
mod connectivity;
mod errors;
mod event;
mod licence_condition;
mod person;
mod requirement;
