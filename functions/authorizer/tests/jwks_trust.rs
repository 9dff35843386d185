//! What the authorizer trusts when HMPPS Auth's JWKS endpoint misbehaves:
//! against the real HMPPS Auth stand-in (wiremock), with answers swapped in
//! while the authorizer runs.
//!
//! Only a usable new key set changes which genuine tokens are accepted: an
//! empty or unusable answer, one naming a `kid` twice, a redirect and a
//! hanging endpoint each leave the cached keys in use.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authorizer::{Authorizer, AuthorizerConfig, Refusal};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use delius_api::routes::CASE_DETAIL;
use delius_testkit::hmpps_auth::{HmppsAuthStandIn, JWKS_PATH, SigningKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "hmpps-resettlement-passport-api";

fn request(token: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
    let file = format!("{}/../../events/authorizer/case-detail.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let bearer = format!("Bearer {token}");
    event["headers"]["authorization"] = json!(bearer);
    event["identitySource"] = json!([bearer]);
    serde_json::from_value(event).unwrap()
}

fn config(auth: &HmppsAuthStandIn) -> AuthorizerConfig {
    AuthorizerConfig { jwks_url: auth.jwks_url(), issuer: auth.issuer() }
}

/// Refreshes allowed on every unknown `kid`, so each bad answer is actually fetched.
fn eager(config: AuthorizerConfig) -> Authorizer {
    Authorizer::new(config).with_refresh_limits(Duration::ZERO, Duration::ZERO)
}

/// Everything logged by this test binary; a test reads the lines that name
/// its own stand-in. (One global subscriber: a per-thread one can miss
/// callsites first hit by tests running beside it.)
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn global() -> &'static Logs {
        static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_max_level(tracing::Level::INFO)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");
            logs
        })
    }

    /// The lines logged so far that contain `needle`.
    fn lines_with(&self, needle: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|line| line.contains(needle)).map(str::to_owned).collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A JWKS answer the stand-in gives instead of its keys while the guard lives.
// (wiremock's scoped mocks are not used: with priorities, dropping one can unmount another.)
fn answer_instead(auth: &HmppsAuthStandIn, response: ResponseTemplate) -> impl Drop + '_ {
    struct Restore<'a>(&'a HmppsAuthStandIn);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            self.0.set_jwks_answer(None);
        }
    }
    auth.set_jwks_answer(Some(response));
    Restore(auth)
}

#[tokio::test]
async fn empty_unusable_or_ambiguous_jwks_answers_keep_the_cached_keys() {
    let logs = Logs::global();
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = eager(config(&auth));
    let genuine = request(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    assert_eq!(authorizer.decide(&genuine).await.map(|c| c.client_id), Ok(CLIENT_ID.to_string()));

    let stranger = SigningKey::generate("rotated-in-by-nobody");
    let unknown_kid = request(&stranger.sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
    // Same kid as the genuine key, another key: which one signs is a guess.
    let impostor = SigningKey::generate(auth.kid());
    let answers: Vec<(&str, ResponseTemplate, &str)> = vec![
        ("no keys", ResponseTemplate::new(200).set_body_json(json!({"keys": []})), "no usable RS256 signing key"),
        (
            "no signing keys",
            ResponseTemplate::new(200).set_body_json(json!({"keys": [
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                {"kty": "RSA", "kid": "enc", "use": "enc", "n": auth.jwk()["n"], "e": "AQAB"},
                {"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": auth.jwk()["n"], "e": "AQAB"},
                {"kty": "RSA", "n": auth.jwk()["n"], "e": "AQAB"}
            ]})),
            "no usable RS256 signing key",
        ),
        (
            "a duplicate kid",
            ResponseTemplate::new(200).set_body_json(json!({"keys": [auth.jwk(), impostor.jwk(), stranger.jwk()]})),
            "names more than one signing key",
        ),
        ("not JSON", ResponseTemplate::new(200).set_body_string("<html>sign in</html>"), "request failed"),
        ("an error", ResponseTemplate::new(500), "HTTP status 500"),
    ];
    for (what, answer, reason) in answers {
        let _answer = answer_instead(&auth, answer);
        let logged = logs.lines_with(&auth.jwks_url()).len();
        // An unknown kid makes the authorizer ask again, and get the bad answer.
        assert_eq!(authorizer.decide(&unknown_kid).await.map(|c| c.client_id), Err(Refusal::UnknownKeyId), "{what}");
        let lines = logs.lines_with(&auth.jwks_url());
        assert!(
            lines[logged..].iter().any(|l| l.contains("refused the HMPPS Auth JWKS answer") && l.contains(reason)),
            "{what}: {lines:?}"
        );
        // The genuine token still works: the cached key was kept.
        assert!(authorizer.authorize(&genuine).await.is_authorized, "{what}");
        // Not even the impostor's key took the genuine kid.
        let forged = request(&impostor.sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
        assert_eq!(authorizer.decide(&forged).await.map(|c| c.client_id), Err(Refusal::BadSignature), "{what}");
    }
    // A valid new key set is taken.
    auth.publish(&stranger);
    assert!(authorizer.authorize(&unknown_kid).await.is_authorized);
}

#[tokio::test]
async fn a_first_answer_with_a_duplicate_kid_is_not_guessed_from() {
    let auth = HmppsAuthStandIn::start().await;
    auth.publish(&SigningKey::generate(auth.kid()));
    let authorizer = eager(config(&auth));
    let genuine = request(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    assert_eq!(authorizer.decide(&genuine).await.map(|c| c.client_id), Err(Refusal::JwksUnavailable));
}

#[tokio::test]
async fn a_redirecting_jwks_url_is_not_followed() {
    let auth = HmppsAuthStandIn::start().await;
    // Another server, publishing its own key.
    let elsewhere = MockServer::start().await;
    let attacker = SigningKey::generate("attackers-key");
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [attacker.jwk()]})))
        .mount(&elsewhere)
        .await;
    let forged = request(&attacker.sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
    let genuine = request(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    let redirect =
        || ResponseTemplate::new(302).insert_header("location", format!("{}{JWKS_PATH}", elsewhere.uri()).as_str());

    // On the first fetch: no keys at all, and none from the redirect's target.
    let authorizer = eager(config(&auth));
    let answer = answer_instead(&auth, redirect());
    assert_eq!(authorizer.decide(&forged).await.map(|c| c.client_id), Err(Refusal::JwksUnavailable));
    assert_eq!(authorizer.decide(&genuine).await.map(|c| c.client_id), Err(Refusal::JwksUnavailable));
    drop(answer);

    // Once keys are cached: the genuine ones stay, the target's never come.
    assert!(authorizer.authorize(&genuine).await.is_authorized);
    let _answer = answer_instead(&auth, redirect());
    assert_eq!(authorizer.decide(&forged).await.map(|c| c.client_id), Err(Refusal::UnknownKeyId));
    assert!(authorizer.authorize(&genuine).await.is_authorized);
    assert!(elsewhere.received_requests().await.unwrap().is_empty(), "the redirect target was never asked");
}

#[tokio::test]
async fn while_the_jwks_endpoint_hangs_requests_with_a_cached_key_do_not_wait() {
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = Arc::new(eager(config(&auth)).with_fetch_timeout(Duration::from_secs(3)));
    let genuine = request(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    assert!(authorizer.authorize(&genuine).await.is_authorized);

    let _hang = answer_instead(
        &auth,
        ResponseTemplate::new(200).set_body_json(json!({"keys": []})).set_delay(Duration::from_secs(30)),
    );
    let stranger = SigningKey::generate("unknown");
    let unknown_kid = request(&stranger.sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
    let started = Instant::now();
    let hanging = {
        let authorizer = authorizer.clone();
        let unknown_kid = unknown_kid.clone();
        tokio::spawn(async move { authorizer.decide(&unknown_kid).await.map(|c| c.client_id) })
    };
    // Until the stand-in has the refresh in hand.
    let jwks_requests = || async {
        let requests = auth.server().received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path() == JWKS_PATH).count()
    };
    while jwks_requests().await < 2 {
        assert!(started.elapsed() < Duration::from_secs(2), "the refresh was never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    for _ in 0..3 {
        let asked = Instant::now();
        assert!(authorizer.authorize(&genuine).await.is_authorized);
        assert!(asked.elapsed() < Duration::from_millis(500), "waited {:?} for the fetch", asked.elapsed());
    }
    // Another unknown kid waits for the fetch in flight, not for a second one.
    let other = request(&SigningKey::generate("another").sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
    assert_eq!(authorizer.decide(&other).await.map(|c| c.client_id), Err(Refusal::UnknownKeyId));
    assert_eq!(hanging.await.unwrap(), Err(Refusal::UnknownKeyId));
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(6), "bounded by the fetch timeout: {waited:?}");
    assert_eq!(jwks_requests().await, 2, "one fetch in flight at a time");
    assert!(authorizer.authorize(&genuine).await.is_authorized);
}

#[tokio::test]
async fn refuses_a_token_naming_a_critical_extension() {
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = Authorizer::new(config(&auth));
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    for crit in [json!(["exp"]), json!(["http://example.com/must-understand"]), json!([]), json!(null), json!("exp")] {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": auth.kid(), "crit": crit, "exp": 1});
        let token = auth.sign_with_header(&header, &claims);
        assert_eq!(authorizer.decide(&request(&token)).await.map(|c| c.client_id), Err(Refusal::UnsupportedCritical));
        assert!(!authorizer.authorize(&request(&token)).await.is_authorized, "{crit}");
    }
    assert_eq!(auth.jwks_requests().await, 0, "refused before any key lookup");
    // The same claims and key without `crit`: allowed.
    assert!(authorizer.authorize(&request(&auth.sign(&claims))).await.is_authorized);
}

#[tokio::test]
async fn keys_past_their_age_are_refreshed_behind_the_answer() {
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = eager(config(&auth)).with_max_age(Duration::ZERO).with_fetch_timeout(Duration::from_secs(2));
    let genuine = request(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    assert!(authorizer.authorize(&genuine).await.is_authorized);
    assert_eq!(auth.jwks_requests().await, 1);

    // Every key is now past its age, and HMPPS Auth hangs.
    let hang = answer_instead(
        &auth,
        ResponseTemplate::new(200).set_body_json(json!({"keys": [auth.jwk()]})).set_delay(Duration::from_secs(30)),
    );
    for _ in 0..3 {
        let asked = Instant::now();
        assert!(authorizer.authorize(&genuine).await.is_authorized);
        assert!(asked.elapsed() < Duration::from_millis(500), "waited {:?} for the refresh", asked.elapsed());
    }
    drop(hang);
    // Once it answers again, a refresh behind a request brings the rotated key in.
    let rotated = SigningKey::generate("rotated");
    auth.publish(&rotated);
    let started = Instant::now();
    let token = request(&rotated.sign(&auth.claims(CLIENT_ID, None, &[CASE_DETAIL])));
    while authorizer.decide(&token).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the rotated key never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(authorizer.authorize(&genuine).await.is_authorized);
}
