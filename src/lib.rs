//! The project's own harness: throwaway databases for tests, stand-ins for
//! HMPPS Auth, Workload and the Delius LDAP directory, the local stack and the
//! benchmarks. Not deployed.

pub mod apigw;
pub mod hmpps_auth;
pub mod ldap;
pub mod testing;
pub mod workload;
