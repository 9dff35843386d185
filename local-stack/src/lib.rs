//! The local stack: every function of the system behind one HTTP server, as
//! API Gateway and Lambda would run them (see `gateway` and `functions`), with
//! stand-ins for HMPPS Auth, Workload and the Delius directory where the real
//! ones are not configured. `make run` starts it; the end-to-end tests drive it.

pub mod functions;
pub mod gateway;

use delius_testkit::hmpps_auth::HmppsAuthStandIn;

pub use functions::{Functions, InvokeError};

/// What the server holds.
pub struct Stack {
    pub functions: Functions,
    /// Present when the stack signs its own tokens: `GET /local/token` mints one.
    pub hmpps_auth: Option<HmppsAuthStandIn>,
}

/// The path that mints a token from the local HMPPS Auth stand-in.
pub const TOKEN_PATH: &str = "/local/token";
/// The client id of minted tokens.
pub const LOCAL_CLIENT_ID: &str = "hmpps-resettlement-passport-api";
