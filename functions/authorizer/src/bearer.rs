//! The bearer token of the request and the parts of its JOSE header the
//! authorizer checks before any key lookup.

use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::Refusal;

/// Longer than any HMPPS Auth token; bigger ones are refused unparsed.
pub const MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// The token of the request's single `Authorization: Bearer <token>` header.
/// Header names are case-insensitive (`HeaderMap` normalises them), and so is
/// the scheme (RFC 9110 §11.1).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Refusal> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(Refusal::MissingHeader)?;
    if values.next().is_some() {
        return Err(Refusal::MalformedHeader);
    }
    parse_bearer(value.to_str().map_err(|_| Refusal::MalformedHeader)?)
}

/// The token of one `Authorization` header value.
pub fn parse_bearer(value: &str) -> Result<&str, Refusal> {
    let (scheme, token) = value.trim().split_once([' ', '\t']).ok_or(Refusal::MalformedHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::MalformedHeader);
    }
    let token = token.trim();
    // token68 (RFC 9110 §11.2): API Gateway joins repeated headers with commas,
    // so anything outside the charset means more than one credential.
    let token68 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=');
    if token.is_empty() || !token.chars().all(token68) {
        return Err(Refusal::MalformedHeader);
    }
    Ok(token)
}

/// The JOSE header fields the authorizer decides on before verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseHeader {
    pub alg: String,
    pub kid: Option<String>,
    /// The `crit` member as sent (RFC 7515 §4.1.11), whatever its JSON type;
    /// `None` only when absent.
    pub crit: Option<serde_json::Value>,
}

impl JoseHeader {
    /// The critical extensions the token names that the authorizer does not
    /// implement: all of them, as it implements none. A `crit` that is not a
    /// non-empty array of names is malformed, and refused the same way.
    pub fn unsupported_critical(&self) -> Option<String> {
        match &self.crit {
            None => None,
            Some(serde_json::Value::Array(names)) if !names.is_empty() => Some(
                names
                    .iter()
                    .map(|n| n.as_str().map_or_else(|| n.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(other) => Some(other.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// `Some(Null)` for `"crit": null`: present is present.
    #[serde(default, deserialize_with = "present")]
    crit: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

/// Reads the header of a compact JWS (`header.payload.signature`) without
/// trusting it. Parsed here rather than by `jsonwebtoken` so that `alg: none`
/// and other algorithms it does not know are refused as such, and because
/// `jsonwebtoken` ignores `crit`.
pub fn jose_header(token: &str) -> Result<JoseHeader, Refusal> {
    if token.len() > MAX_TOKEN_LENGTH {
        return Err(Refusal::MalformedToken);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::MalformedToken);
    };
    let json = URL_SAFE_NO_PAD.decode(header).map_err(|_| Refusal::MalformedToken)?;
    let raw: RawHeader = serde_json::from_slice(&json).map_err(|_| Refusal::MalformedToken)?;
    Ok(JoseHeader { alg: raw.alg, kid: raw.kid, crit: raw.crit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let json: serde_json::Map<String, serde_json::Value> =
            pairs.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v))).collect();
        // As the event arrives: header names exactly as given in the JSON.
        let event: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(serde_json::json!({"headers": json, "requestContext": {"http": {"method": "GET"}}}))
                .unwrap();
        event.headers
    }

    #[test]
    fn reads_the_token_whatever_the_case_of_header_name_and_scheme() {
        assert_eq!(bearer_token(&headers(&[("authorization", "Bearer abc.def.ghi")])), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(&headers(&[("Authorization", "bearer abc.def.ghi")])), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(&headers(&[("AUTHORIZATION", "BEARER abc.def.ghi")])), Ok("abc.def.ghi"));
        assert_eq!(parse_bearer("  Bearer   a-b_c.d+e/f=  "), Ok("a-b_c.d+e/f="));
        assert_eq!(parse_bearer("Bearer\tabc"), Ok("abc"));
    }

    #[test]
    fn refuses_a_missing_header() {
        assert_eq!(bearer_token(&headers(&[])), Err(Refusal::MissingHeader));
        assert_eq!(bearer_token(&headers(&[("x-authorization", "Bearer abc")])), Err(Refusal::MissingHeader));
    }

    #[test]
    fn refuses_malformed_headers() {
        for value in [
            "",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "Bearer abc def",
            "Bearer abc, Bearer def",
            "Bearer abc;def",
            "Bearer \"abc\"",
            "Bearer é",
        ] {
            assert_eq!(parse_bearer(value), Err(Refusal::MalformedHeader), "{value:?}");
        }
    }

    #[test]
    fn refuses_two_authorization_headers() {
        let mut map = HeaderMap::new();
        map.append(AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        map.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer_token(&map), Err(Refusal::MalformedHeader));
    }

    #[test]
    fn reads_alg_and_kid_of_the_jose_header() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
        assert_eq!(
            jose_header(&format!("{header}.e30.c2ln")),
            Ok(JoseHeader { alg: "RS256".into(), kid: Some("k1".into()), crit: None })
        );
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(jose_header(&format!("{none}.e30.")), Ok(JoseHeader { alg: "none".into(), kid: None, crit: None }));
    }

    #[test]
    fn any_crit_member_names_an_unsupported_extension() {
        let header = |json: &str| jose_header(&format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(json))).unwrap();
        assert_eq!(header(r#"{"alg":"RS256","kid":"k1"}"#).unsupported_critical(), None);
        assert_eq!(
            header(r#"{"alg":"RS256","crit":["exp","b64"]}"#).unsupported_critical().as_deref(),
            Some("exp,b64")
        );
        for malformed in
            [r#"{"alg":"RS256","crit":[]}"#, r#"{"alg":"RS256","crit":null}"#, r#"{"alg":"RS256","crit":"x"}"#]
        {
            assert!(header(malformed).unsupported_critical().is_some(), "{malformed}");
        }
    }

    #[test]
    fn refuses_tokens_that_are_not_compact_jws() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        let no_alg = URL_SAFE_NO_PAD.encode(br#"{"kid":"k1"}"#);
        for token in [
            "abc".to_string(),
            format!("{header}.e30"),
            format!("{header}.e30.c2ln.extra"),
            "!!!.e30.c2ln".to_string(),
            format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(b"not json")),
            format!("{no_alg}.e30.c2ln"),
            format!("{header}.{}.c2ln", "a".repeat(MAX_TOKEN_LENGTH)),
        ] {
            assert_eq!(jose_header(&token), Err(Refusal::MalformedToken), "{token:.40}");
        }
    }
}
