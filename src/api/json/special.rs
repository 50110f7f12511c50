//! Hand-written JSON for the messages whose Kubernetes JSON is not an object of their
//! protobuf fields. `api-codegen` leaves exactly these underived
//! (`api_codegen::HAND_WRITTEN_JSON`).
//!
//! Reading JSON, each impl fills the fields the way Go's protobuf encoder would have
//! written them, so an object read from JSON equals the same object read from
//! protobuf as far as these types go.

use std::fmt;

use chrono::{DateTime, NaiveDateTime};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::duration;
use crate::api::intstr::IntOrString;
use crate::api::meta::v1::{Duration, FieldsV1, MicroTime, Time};
use crate::api::resource::{Quantity, QuantityValue};
use crate::api::runtime::RawExtension;

// ---- meta.v1.Time / MicroTime: RFC 3339 strings; the zero time is `null` ----

/// Go's zero `metav1.Time` travels in protobuf as an empty message and in JSON as `null`.
fn is_zero_time(seconds: Option<i64>, nanos: Option<i32>) -> bool {
    seconds.is_none() && nanos.is_none()
}

fn format_time<E: ser::Error>(seconds: i64, fraction: Option<u32>) -> Result<String, E> {
    let time: NaiveDateTime = DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| {
            E::custom(format_args!(
                "time {seconds}s since the epoch is out of range"
            ))
        })?
        .naive_utc();
    let whole = time.format("%Y-%m-%dT%H:%M:%S");
    Ok(match fraction {
        None => format!("{whole}Z"),
        Some(micros) => format!("{whole}.{micros:06}Z"),
    })
}

/// Parses RFC 3339 as Go's time.Parse(time.RFC3339) does, into (seconds, nanos).
fn parse_time<E: de::Error>(text: &str) -> Result<(i64, u32), E> {
    let time = DateTime::parse_from_rfc3339(text)
        .map_err(|err| E::custom(format_args!("invalid RFC 3339 time {text:?}: {err}")))?;
    Ok((time.timestamp(), time.timestamp_subsec_nanos()))
}

/// Go's encoder writes `nanos` even when it is zero (a non-pointer field).
fn nanos_field(nanos: u32) -> Option<i32> {
    // timestamp_subsec_nanos() is below 2·10^9 (leap second included): fits i32.
    Some(i32::try_from(nanos).unwrap_or(i32::MAX))
}

impl Serialize for Time {
    /// Whole seconds (`2017-08-03T17:05:47Z`), like Go's `metav1.Time`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if is_zero_time(self.seconds, self.nanos) {
            return serializer.serialize_none();
        }
        serializer.serialize_str(&format_time::<S::Error>(self.seconds.unwrap_or(0), None)?)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(Time::default()),
            Some(text) => {
                // Go's metav1.Time writes whole seconds only, to protobuf too.
                let (seconds, _) = parse_time::<D::Error>(&text)?;
                Ok(Time {
                    seconds: Some(seconds),
                    nanos: nanos_field(0),
                })
            }
        }
    }
}

impl Serialize for MicroTime {
    /// Six fractional digits (`2017-08-03T17:05:47.123456Z`), like Go's `metav1.MicroTime`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if is_zero_time(self.seconds, self.nanos) {
            return serializer.serialize_none();
        }
        let micros = u32::try_from(self.nanos.unwrap_or(0) / 1000)
            .map_err(|_| <S::Error as ser::Error>::custom("MicroTime with negative nanos"))?;
        serializer.serialize_str(&format_time::<S::Error>(
            self.seconds.unwrap_or(0),
            Some(micros),
        )?)
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(MicroTime::default()),
            Some(text) => {
                let (seconds, nanos) = parse_time::<D::Error>(&text)?;
                // Microsecond precision, as Go stores it.
                Ok(MicroTime {
                    seconds: Some(seconds),
                    nanos: nanos_field(nanos / 1000 * 1000),
                })
            }
        }
    }
}

// ---- meta.v1.Duration: Go duration string, int64 nanoseconds in protobuf ----

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&duration::format(self.duration.unwrap_or(0)))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let nanos = duration::parse(&text).map_err(|err| {
            <D::Error as de::Error>::custom(format_args!("invalid duration {text:?}: {err}"))
        })?;
        Ok(Duration {
            duration: Some(nanos),
        })
    }
}

// ---- resource.Quantity: a string; numbers are accepted on input like Go does ----

/// Reads a quantity's text. Kept verbatim: Go canonicalises ("1000m" → "1") when it
/// parses, the apiserver already sends canonical text, and metrics parse it anyway.
struct QuantityText;

impl<'de> Visitor<'de> for QuantityText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a quantity (string or number)")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(text.trim().to_string()))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(n.to_string()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(n.to_string()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Some(n.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Go's zero Quantity is written as "0".
fn quantity_text(string: &Option<String>) -> &str {
    match string.as_deref() {
        None | Some("") => "0",
        Some(text) => text,
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(quantity_text(&self.string))
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Quantity {
            string: deserializer.deserialize_any(QuantityText)?,
        })
    }
}

impl Serialize for QuantityValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(quantity_text(&self.string))
    }
}

impl<'de> Deserialize<'de> for QuantityValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(QuantityValue {
            string: deserializer.deserialize_any(QuantityText)?,
        })
    }
}

// ---- intstr.IntOrString: a JSON number or string ----

/// `type` in the protobuf message: 0 = int, 1 = string.
const INT_OR_STRING_STRING: i64 = 1;

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.r#type == Some(INT_OR_STRING_STRING) {
            serializer.serialize_str(self.str_val.as_deref().unwrap_or(""))
        } else {
            serializer.serialize_i32(self.int_val.unwrap_or(0))
        }
    }
}

struct IntOrStringVisitor;

impl IntOrStringVisitor {
    // Go writes all three fields of its non-pointer struct.
    fn int(value: i32) -> IntOrString {
        IntOrString {
            r#type: Some(0),
            int_val: Some(value),
            str_val: Some(String::new()),
        }
    }
}

impl<'de> Visitor<'de> for IntOrStringVisitor {
    type Value = IntOrString;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an int32 or a string")
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<IntOrString, E> {
        let value =
            i32::try_from(n).map_err(|_| E::custom(format_args!("{n} does not fit an int32")))?;
        Ok(Self::int(value))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<IntOrString, E> {
        let value =
            i32::try_from(n).map_err(|_| E::custom(format_args!("{n} does not fit an int32")))?;
        Ok(Self::int(value))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<IntOrString, E> {
        Ok(IntOrString {
            r#type: Some(INT_OR_STRING_STRING),
            int_val: Some(0),
            str_val: Some(text.to_string()),
        })
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStringVisitor)
    }
}

// ---- runtime.RawExtension and meta.v1.FieldsV1: raw JSON kept as its text ----

fn serialize_raw_json<S: Serializer>(
    raw: Option<&[u8]>,
    what: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let Some(raw) = raw else {
        return serializer.serialize_none();
    };
    let value: &RawValue = serde_json::from_slice(raw).map_err(|err| {
        <S::Error as ser::Error>::custom(format_args!(
            "{what} holds {} bytes that are not JSON ({err}); only watch events carry protobuf there",
            raw.len()
        ))
    })?;
    value.serialize(serializer)
}

/// The JSON text, compact, as Go's encoder writes it into protobuf; `null` is no value.
///
/// Read through `serde_json::Value` rather than `RawValue`: the types that embed these
/// (an ObjectMeta's managedFields inside an inlined Go struct) are read through
/// serde's buffered content, which cannot produce a `RawValue`. Numbers keep their
/// value; only the spelling of floats may change (`1e3` → `1000.0`).
fn deserialize_raw_json<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<u8>>, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        value => serde_json::to_vec(&value)
            .map(Some)
            .map_err(<D::Error as de::Error>::custom),
    }
}

impl Serialize for RawExtension {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_raw_json(self.raw.as_deref(), "RawExtension", serializer)
    }
}

impl<'de> Deserialize<'de> for RawExtension {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(RawExtension {
            raw: deserialize_raw_json(deserializer)?.map(bytes::Bytes::from),
        })
    }
}

impl Serialize for FieldsV1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_raw_json(self.raw.as_deref(), "FieldsV1", serializer)
    }
}

impl<'de> Deserialize<'de> for FieldsV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(FieldsV1 {
            raw: deserialize_raw_json(deserializer)?.map(bytes::Bytes::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn time_is_whole_seconds_and_zero_is_null() {
        let time = Time {
            seconds: Some(1_501_779_947),
            nanos: Some(0),
        };
        assert_eq!(
            serde_json::to_value(time).unwrap(),
            json!("2017-08-03T17:05:47Z")
        );
        assert_eq!(serde_json::to_value(Time::default()).unwrap(), json!(null));
        let read: Time = serde_json::from_value(json!("2017-08-03T17:05:47Z")).unwrap();
        assert_eq!(read, time);
        let read: Time = serde_json::from_value(json!(null)).unwrap();
        assert_eq!(read, Time::default());
    }

    #[test]
    fn time_accepts_offsets_and_fractions() {
        let read: Time = serde_json::from_value(json!("2017-08-03T19:05:47.5+02:00")).unwrap();
        assert_eq!(
            read,
            Time {
                seconds: Some(1_501_779_947),
                nanos: Some(0)
            }
        );
    }

    #[test]
    fn time_rejects_garbage_with_the_text() {
        let err = serde_json::from_value::<Time>(json!("yesterday")).unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }

    #[test]
    fn micro_time_has_six_digits() {
        let time = MicroTime {
            seconds: Some(1_501_779_947),
            nanos: Some(123_456_789),
        };
        assert_eq!(
            serde_json::to_value(time).unwrap(),
            json!("2017-08-03T17:05:47.123456Z")
        );
        let whole = MicroTime {
            seconds: Some(1_501_779_947),
            nanos: None,
        };
        assert_eq!(
            serde_json::to_value(whole).unwrap(),
            json!("2017-08-03T17:05:47.000000Z")
        );
        let read: MicroTime = serde_json::from_value(json!("2017-08-03T17:05:47.123456Z")).unwrap();
        assert_eq!(
            read,
            MicroTime {
                seconds: Some(1_501_779_947),
                nanos: Some(123_456_000)
            }
        );
    }

    #[test]
    fn quantity_is_a_string_and_accepts_numbers() {
        let q = Quantity {
            string: Some("100m".into()),
        };
        assert_eq!(serde_json::to_value(&q).unwrap(), json!("100m"));
        assert_eq!(
            serde_json::from_value::<Quantity>(json!("100m")).unwrap(),
            q
        );
        let n: Quantity = serde_json::from_value(json!(2)).unwrap();
        assert_eq!(n.string.as_deref(), Some("2"));
        assert_eq!(
            serde_json::to_value(Quantity::default()).unwrap(),
            json!("0")
        );
    }

    #[test]
    fn int_or_string_both_ways() {
        let int: IntOrString = serde_json::from_value(json!(8080)).unwrap();
        assert_eq!(
            int,
            IntOrString {
                r#type: Some(0),
                int_val: Some(8080),
                str_val: Some(String::new())
            }
        );
        assert_eq!(serde_json::to_value(&int).unwrap(), json!(8080));
        let text: IntOrString = serde_json::from_value(json!("25%")).unwrap();
        assert_eq!(text.r#type, Some(1));
        assert_eq!(serde_json::to_value(&text).unwrap(), json!("25%"));
        assert!(serde_json::from_value::<IntOrString>(json!(4_294_967_296u64)).is_err());
    }

    #[test]
    fn raw_json_is_kept_as_compact_text() {
        let raw: RawExtension =
            serde_json::from_str("{\"z\": [1, 2],\n \"b \\\" c\": \" \"}").unwrap();
        assert_eq!(
            raw.raw.as_deref(),
            Some(&br#"{"z":[1,2],"b \" c":" "}"#[..])
        );
        assert_eq!(
            serde_json::to_value(&raw).unwrap(),
            json!({"z": [1, 2], "b \" c": " "})
        );
        let fields: FieldsV1 = serde_json::from_str(r#"{"f:metadata":{}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            r#"{"f:metadata":{}}"#
        );
    }

    #[test]
    fn raw_protobuf_in_a_raw_extension_is_an_error_not_garbage() {
        let raw = RawExtension {
            raw: Some(bytes::Bytes::from_static(b"k8s\0\x0a")),
        };
        let err = serde_json::to_value(&raw).unwrap_err();
        assert!(
            err.to_string()
                .contains("RawExtension holds 5 bytes that are not JSON"),
            "{err}"
        );
    }

    #[test]
    fn duration_is_a_go_duration_string() {
        let hour = Duration {
            duration: Some(3_600_000_000_000),
        };
        assert_eq!(serde_json::to_value(hour).unwrap(), json!("1h0m0s"));
        assert_eq!(
            serde_json::from_value::<Duration>(json!("1h0m0s")).unwrap(),
            hour
        );
    }
}
