use authorizer::{Authorizer, AuthorizerConfig};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    delius_api::telemetry::init_logging();
    // No network here: the signing keys are fetched by the first request.
    let authorizer = Authorizer::new(AuthorizerConfig::from_env()?);
    let authorizer = &authorizer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
        Ok::<_, std::convert::Infallible>(authorizer.authorize(&event.payload).await)
    }))
    .await
}
