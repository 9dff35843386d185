//! A stand-in for HMPPS Auth as the authorizer sees it: a real local HTTP
//! server publishing a JWKS, and the signing side that mints RS256 tokens
//! for it. For the authorizer tests, `make run` and the benchmarks.
//!
//! - `GET /auth/.well-known/jwks.json` ([`JWKS_PATH`]) answers the published
//!   public keys (`kty` RSA, `use` sig, `alg` RS256, `kid`, `n`, `e`); while
//!   [`HmppsAuthStandIn::set_available`] is off it answers 503 instead.
//! - `GET /auth/.well-known/openid-configuration` names the issuer and the JWKS.
//! - The issuer is the server's URI + [`ISSUER_PATH`], as HMPPS Auth's is
//!   `https://<host>/auth/issuer`.
//!
//! The RSA key is generated at start and lives only in memory: no private key
//! is kept in the repository. Tokens are built by hand here (base64url JSON,
//! PKCS#1 v1.5 SHA-256 signatures from aws-lc-rs), independently of the
//! `jsonwebtoken` crate the authorizer verifies them with. The broken tokens
//! the refusal tests need come from [`SigningKey`] (another key, or another key
//! under the stand-in's `kid`), [`hs256_token`] and [`unsigned_token`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The port `make run` starts the stand-in on.
pub const DEFAULT_PORT: u16 = 8090;
pub const JWKS_PATH: &str = "/auth/.well-known/jwks.json";
pub const OPENID_CONFIGURATION_PATH: &str = "/auth/.well-known/openid-configuration";
/// Issuer = server URI + this path.
pub const ISSUER_PATH: &str = "/auth/issuer";
/// Lifetime of [`HmppsAuthStandIn::token`]s, in seconds.
pub const TOKEN_LIFETIME: i64 = 3600;

/// An RSA signing key with its key id.
pub struct SigningKey {
    kid: String,
    key_pair: KeyPair,
}

impl SigningKey {
    /// A fresh 2048-bit key (the size HMPPS Auth uses).
    pub fn generate(kid: impl Into<String>) -> SigningKey {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        SigningKey { kid: kid.into(), key_pair }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, as HMPPS Auth publishes it.
    pub fn jwk(&self) -> Value {
        let public = self.key_pair.public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": base64url(public.modulus().big_endian_without_leading_zero()),
            "e": base64url(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// `claims` as an RS256 JWT whose header names this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}), claims)
    }

    /// `claims` signed RS256 under an arbitrary header (e.g. one without `kid`).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = signing_input(header, claims);
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .expect("RS256 signature");
        format!("{signing_input}.{}", base64url(&signature))
    }
}

/// An HS256 token (an algorithm HMPPS Auth does not use; the authorizer must refuse it).
pub fn hs256_token(kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut header = json!({"alg": "HS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let signing_input = signing_input(&header, claims);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(tag.as_ref()))
}

/// An unsecured token (`alg: none`, empty signature), built by hand.
pub fn unsigned_token(kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": "none", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    format!("{}.", signing_input(&header, claims))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", base64url(header.to_string().as_bytes()), base64url(claims.to_string().as_bytes()))
}

/// Unpadded base64url (RFC 7515 §2), the encoding of every JWT part and JWK number.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

/// What the JWKS endpoint serves; shared with the running server.
struct Jwks {
    keys: Mutex<Vec<Value>>,
    /// Given instead of the keys while set (a misbehaving HMPPS Auth).
    answer: Mutex<Option<ResponseTemplate>>,
    available: AtomicBool,
    requests: AtomicUsize,
}

struct JwksResponder(Arc<Jwks>);

impl Respond for JwksResponder {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        if !self.0.available.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503).set_body_json(json!({"status": 503, "error": "Service Unavailable"}));
        }
        if let Some(answer) = self.0.answer.lock().expect("JWKS lock").clone() {
            return answer;
        }
        let keys = self.0.keys.lock().expect("JWKS lock").clone();
        ResponseTemplate::new(200).set_body_json(json!({ "keys": keys }))
    }
}

/// The running stand-in. Dropping it stops the server.
pub struct HmppsAuthStandIn {
    server: MockServer,
    key: SigningKey,
    jwks: Arc<Jwks>,
}

impl HmppsAuthStandIn {
    /// On a free local port (tests).
    pub async fn start() -> HmppsAuthStandIn {
        Self::serve(MockServer::start().await).await
    }

    /// On `127.0.0.1:port` (`make run`: [`DEFAULT_PORT`]).
    pub async fn start_on(port: u16) -> std::io::Result<HmppsAuthStandIn> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        Ok(Self::serve(MockServer::builder().listener(listener).start().await).await)
    }

    async fn serve(server: MockServer) -> HmppsAuthStandIn {
        // A fresh kid per start, so a token from an earlier run is an unknown key, not a bad signature.
        let key =
            SigningKey::generate(format!("hmpps-auth-stand-in-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let jwks = Arc::new(Jwks {
            keys: Mutex::new(vec![key.jwk()]),
            answer: Mutex::new(None),
            available: AtomicBool::new(true),
            requests: AtomicUsize::new(0),
        });
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(JwksResponder(jwks.clone()))
            .named("jwks")
            .mount(&server)
            .await;
        let uri = server.uri();
        Mock::given(method("GET"))
            .and(path(OPENID_CONFIGURATION_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": format!("{uri}{ISSUER_PATH}"),
                "jwks_uri": format!("{uri}{JWKS_PATH}"),
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .named("openid-configuration")
            .mount(&server)
            .await;
        HmppsAuthStandIn { server, key, jwks }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.uri())
    }

    pub fn issuer(&self) -> String {
        format!("{}{ISSUER_PATH}", self.uri())
    }

    /// The authorizer's configuration for this stand-in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("HMPPS_AUTH_JWKS_URL", self.jwks_url()), ("HMPPS_AUTH_ISSUER", self.issuer())]
    }

    /// The `kid` of the stand-in's own signing key.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The stand-in's public key as published in the JWKS.
    pub fn jwk(&self) -> Value {
        self.key.jwk()
    }

    /// The claims of a valid client-credentials token, for tests to alter
    /// before [`sign`](Self::sign)ing: `roles` without `ROLE_`, which
    /// `authorities` gets, as HMPPS Auth writes them.
    pub fn claims(&self, client_id: &str, user_name: Option<&str>, roles: &[&str]) -> Value {
        let now = chrono::Utc::now().timestamp();
        let authorities: Vec<String> = roles.iter().map(|r| format!("ROLE_{r}")).collect();
        let mut claims = json!({
            "sub": user_name.unwrap_or(client_id),
            "client_id": client_id,
            "grant_type": "client_credentials",
            "scope": ["read", "write"],
            "auth_source": if user_name.is_some() { "delius" } else { "none" },
            "authorities": authorities,
            "iss": self.issuer(),
            // An audience the authorizer has no opinion about: it must not refuse on it.
            "aud": "oauth2-resource",
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(user_name) = user_name {
            claims["user_name"] = json!(user_name);
        }
        claims
    }

    /// A valid token for an hour: RS256 with the stand-in's `kid`.
    pub fn token(&self, client_id: &str, user_name: Option<&str>, roles: &[&str]) -> String {
        self.sign(&self.claims(client_id, user_name, roles))
    }

    /// Arbitrary claims signed with the stand-in's key.
    pub fn sign(&self, claims: &Value) -> String {
        self.key.sign(claims)
    }

    /// Arbitrary claims signed with the stand-in's key under an arbitrary
    /// header (e.g. one with a `crit` member).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.key.sign_with_header(header, claims)
    }

    /// Adds `key` to the JWKS, as HMPPS Auth does when it rotates keys.
    pub fn publish(&self, key: &SigningKey) {
        self.jwks.keys.lock().expect("JWKS lock").push(key.jwk());
    }

    /// Off: the JWKS endpoint answers 503 (an HMPPS Auth outage).
    pub fn set_available(&self, available: bool) {
        self.jwks.available.store(available, Ordering::SeqCst);
    }

    /// The JWKS endpoint gives `answer` (an empty set, a redirect, a delay...)
    /// instead of the keys until set back to `None`.
    pub fn set_jwks_answer(&self, answer: Option<ResponseTemplate>) {
        *self.jwks.answer.lock().expect("JWKS lock") = answer;
    }

    /// How many JWKS requests the stand-in has answered.
    pub async fn jwks_requests(&self) -> usize {
        self.jwks.requests.load(Ordering::SeqCst)
    }

    /// The server, for tests that mount their own mocks.
    pub fn server(&self) -> &MockServer {
        &self.server
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        let cases = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE")];
        for (input, expected) in cases {
            assert_eq!(base64url(input.as_bytes()), expected);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
    }

    #[test]
    fn tokens_verify_against_the_published_jwk() {
        use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
        let key = SigningKey::generate("k1");
        let jwk = key.jwk();
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(jwk["e"], "AQAB");
        // 2048-bit modulus = 256 bytes = 342 unpadded base64url characters.
        assert_eq!(jwk["n"].as_str().unwrap().len(), 342);

        let token = key.sign(&json!({"client_id": "c"}));
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let public = key.key_pair.public_key();
        let components = RsaPublicKeyComponents {
            n: public.modulus().big_endian_without_leading_zero(),
            e: public.exponent().big_endian_without_leading_zero(),
        };
        let signature = decode_base64url(signature);
        assert!(components.verify(&RSA_PKCS1_2048_8192_SHA256, signing_input.as_bytes(), &signature).is_ok());
        let other = SigningKey::generate("k1");
        let forged = other.sign(&json!({"client_id": "c"}));
        let (forged_input, forged_signature) = forged.rsplit_once('.').unwrap();
        assert!(
            components
                .verify(&RSA_PKCS1_2048_8192_SHA256, forged_input.as_bytes(), &decode_base64url(forged_signature))
                .is_err()
        );

        let header: Value = serde_json::from_slice(&decode_base64url(token.split('.').next().unwrap())).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
    }

    #[test]
    fn unsigned_and_hs256_tokens_have_the_headers_the_refusal_tests_need() {
        let none = unsigned_token(Some("k1"), &json!({}));
        assert!(none.ends_with('.'));
        let header: Value = serde_json::from_slice(&decode_base64url(none.split('.').next().unwrap())).unwrap();
        assert_eq!(header, json!({"alg": "none", "typ": "JWT", "kid": "k1"}));
        let hs = hs256_token(None, &json!({}), b"secret");
        let header: Value = serde_json::from_slice(&decode_base64url(hs.split('.').next().unwrap())).unwrap();
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        // HMAC-SHA256 tag = 32 bytes = 43 characters.
        assert_eq!(hs.rsplit_once('.').unwrap().1.len(), 43);
    }

    fn decode_base64url(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let values: Vec<u32> = text.bytes().map(|c| ALPHABET.iter().position(|a| *a == c).unwrap() as u32).collect();
        let mut out = Vec::new();
        for chunk in values.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | (v << (18 - 6 * i)));
            for i in 0..chunk.len() - 1 {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        out
    }
}
