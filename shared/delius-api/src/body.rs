//! The one reader of JSON request bodies.
//!
//! A request type derives `Deserialize` with every field an `Option` of one
//! of the field types here (JSON `null` and a missing key both read as
//! `None`; unknown keys are ignored), then checks what is required with
//! [`required`]. Every failure is a 400 naming the field by its path
//! (`author.forename`):
//!
//! - a body that is missing, not JSON or not a JSON object: the body's message;
//! - a value of the wrong JSON type: `Invalid value for 'field': expected a string`;
//! - a value that cannot be read (a date-time, a duration...): `Invalid value for 'field': <why>`;
//! - a missing required field: `Required field 'field' is missing`.
//!
//! Strings are checked for characters Delius cannot store as they are read
//! ([`Line`] and [`FreeText`]); lengths are checked by the request type,
//! which knows the column each field goes to.

use std::fmt;
use std::marker::PhantomData;

use lambda_http::Body;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::datetime::{parse_duration, parse_zoned_date_time};
use crate::problem::ApiError;
use crate::validate::{TextKind, forbidden_character};

/// The largest request body accepted; larger ones are a 413. The biggest
/// real body (a case note of several pages) is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body's bytes (text and base64-decoded binary alike).
pub fn bytes(body: &Body) -> &[u8] {
    match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// 413 when the body is larger than [`MAX_BODY_BYTES`].
pub fn check_size(body: &Body) -> Result<(), ApiError> {
    if bytes(body).len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(format!("Request body must be at most {MAX_BODY_BYTES} bytes")));
    }
    Ok(())
}

/// Reads the body as `T`.
pub fn read_json<T: DeserializeOwned>(body: &Body) -> Result<T, ApiError> {
    check_size(body)?;
    let bytes = bytes(body);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("Required request body is missing".into()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("Malformed JSON request body: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest("Request body must be a JSON object".into()));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(format!("Invalid value for '{path}': {}", e.into_inner()))
    })
}

/// The value of a required field, or 400 naming it.
pub fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::BadRequest(format!("Required field '{field}' is missing")))
}

/// At most this many characters of a client's value are echoed in a message.
pub fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

fn string_value<'de, D, T>(deserializer: D, read: fn(String) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct StringVisitor<T>(fn(String) -> Result<T, String>);
    impl<'de, T> Visitor<'de> for StringVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v.to_string()).map_err(E::custom)
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
            Err(E::custom("expected a string"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
            Err(E::custom("expected a string"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
            Err(E::custom("expected a string"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
            Err(E::custom("expected a string"))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
            Err(de::Error::custom("expected a string"))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
            Err(de::Error::custom("expected a string"))
        }
    }
    deserializer.deserialize_any(StringVisitor(read))
}

fn text_of_kind(text: String, kind: TextKind) -> Result<String, String> {
    match forbidden_character(&text, kind) {
        Some(c) => Err(format!("must not contain control characters (found U+{:04X})", u32::from(c))),
        None => Ok(text),
    }
}

/// A string without control characters: a code, a name, an identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line(pub String);

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string_value(deserializer, |text| text_of_kind(text, TextKind::Line).map(Line))
    }
}

/// Free text: control characters other than tab, line feed and carriage
/// return are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText(pub String);

impl<'de> Deserialize<'de> for FreeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string_value(deserializer, |text| text_of_kind(text, TextKind::FreeText).map(FreeText))
    }
}

/// A date-time as [`parse_zoned_date_time`] reads it (London-zoned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonedDateTime(pub chrono::DateTime<chrono::FixedOffset>);

impl<'de> Deserialize<'de> for ZonedDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string_value(deserializer, |text| parse_zoned_date_time(&text).map(ZonedDateTime).map_err(|e| e.to_string()))
    }
}

/// A UUID in any form `uuid` reads (hyphenated, either case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uuid(pub uuid::Uuid);

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string_value(deserializer, |text| {
            uuid::Uuid::try_parse(&text).map(Uuid).map_err(|_| format!("'{}'", shown(&text)))
        })
    }
}

/// An ISO-8601 duration string (`PT30M`), or as Jackson also reads it, a
/// number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub chrono::Duration);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl DurationVisitor {
            fn seconds<E: de::Error>(seconds: f64, shown: impl fmt::Display) -> Result<Duration, E> {
                let nanos = (seconds * 1e9).round();
                if nanos.is_finite() && nanos.abs() < i64::MAX as f64 {
                    Ok(Duration(chrono::Duration::nanoseconds(nanos as i64)))
                } else {
                    Err(E::custom(format!("Invalid duration: {shown}")))
                }
            }
        }
        impl<'de> Visitor<'de> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ISO-8601 duration")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Self::seconds(v as f64, v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Self::seconds(v as f64, v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                // Shown as JSON writes it (`1e300`), not as Rust does (301 digits).
                let shown = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
                Self::seconds(v, shown)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Duration, E> {
                Err(E::custom("expected a string"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Duration, A::Error> {
                Err(de::Error::custom("expected a string"))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Duration, A::Error> {
                Err(de::Error::custom("expected a string"))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// A nested JSON object read as `T`; anything else is `expected an object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Object<T>, E> {
                Err(E::custom("expected an object"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Object<T>, E> {
                Err(E::custom("expected an object"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Object<T>, E> {
                Err(E::custom("expected an object"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Object<T>, E> {
                Err(E::custom("expected an object"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Object<T>, E> {
                Err(E::custom("expected an object"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Object<T>, A::Error> {
                Err(de::Error::custom("expected an object"))
            }
        }
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        name: Option<Line>,
        notes: Option<FreeText>,
        inner: Option<Object<Inner>>,
        duration: Option<Duration>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        prison_code: Option<Line>,
    }

    fn read(json: &str) -> Result<Sample, String> {
        read_json::<Sample>(&Body::Text(json.into())).map_err(|e| e.to_string())
    }

    #[test]
    fn messages_name_the_field_by_its_path() {
        assert_eq!(read(r#"{"name":1}"#).unwrap_err(), "Invalid value for 'name': expected a string");
        assert_eq!(read(r#"{"inner":"x"}"#).unwrap_err(), "Invalid value for 'inner': expected an object");
        assert_eq!(
            read(r#"{"inner":{"prisonCode":"L\u0000"}}"#).unwrap_err(),
            "Invalid value for 'inner.prisonCode': must not contain control characters (found U+0000)"
        );
        assert_eq!(
            read(r#"{"notes":"a\u0007"}"#).unwrap_err(),
            "Invalid value for 'notes': must not contain control characters (found U+0007)"
        );
        assert_eq!(read(r#"{"duration":true}"#).unwrap_err(), "Invalid value for 'duration': expected a string");
        assert_eq!(
            read(r#"{"duration":1e300}"#).unwrap_err(),
            "Invalid value for 'duration': Invalid duration: 1e+300"
        );
        assert_eq!(
            required::<()>("author.surname", None).unwrap_err().to_string(),
            "Required field 'author.surname' is missing"
        );
    }

    #[test]
    fn nulls_unknown_keys_and_free_text() {
        let s = read(
            r#"{"name":null,"notes":"a\r\n\tb","other":[1],"inner":{"prisonCode":"LDN","x":1},"duration":"PT1M"}"#,
        )
        .unwrap();
        assert!(s.name.is_none());
        assert_eq!(s.notes.unwrap().0, "a\r\n\tb");
        assert_eq!(s.inner.unwrap().0.prison_code.unwrap().0, "LDN");
        assert_eq!(s.duration.unwrap().0, chrono::Duration::minutes(1));
    }

    #[test]
    fn bodies_that_are_not_json_objects_or_too_large() {
        assert_eq!(read("").unwrap_err(), "Required request body is missing");
        assert_eq!(read("[1]").unwrap_err(), "Request body must be a JSON object");
        let e = read_json::<Sample>(&Body::Binary(vec![0xff, 0xfe])).unwrap_err();
        assert!(e.to_string().starts_with("Malformed JSON request body"), "{e}");
        let big = format!(r#"{{"notes":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let e = read_json::<Sample>(&Body::Text(big)).unwrap_err();
        assert_eq!(e.status(), 413);
    }
}
