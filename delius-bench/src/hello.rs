//! The cold-start baseline: a hello-world `lambda_runtime` function, nothing
//! else. Every function's init is compared with this one's, started the same
//! way in the same run.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<Value, Error>(json!({"hello": "world"})) }))
        .await
}
