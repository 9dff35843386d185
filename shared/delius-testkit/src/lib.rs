//! The project's test kit (not deployed): throwaway databases for tests,
//! stand-ins for HMPPS Auth, Workload and the Delius LDAP directory, helpers
//! for the sample events, and the check of responses against
//! `docs/openapi.yaml`. The tests, the local stack and the
//! benchmarks depend on it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod apigw;
pub mod blackhole;
pub mod hmpps_auth;
pub mod ldap;
pub mod moto;
pub mod openapi;
pub mod pgbouncer;
pub mod process;
pub mod rows;
pub mod testing;
pub mod tls;
pub mod workload;

/// The repository's top folder, where `template.yaml`, `events/` and `docs/` live.
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .expect("the test kit sits two folders below the repository root")
    })
}
