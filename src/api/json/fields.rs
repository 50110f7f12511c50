//! Field-level serde helpers named by the attributes that `api-codegen` puts on the
//! generated types (see `crates/api-codegen/src/serde_attrs.rs`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer};

/// Go writes a nil slice or map without `omitempty` as `null`; read it as empty.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn decode_base64<E: serde::de::Error>(text: &str) -> Result<Vec<u8>, E> {
    STANDARD
        .decode(text)
        .map_err(|err| E::custom(format_args!("invalid base64 in a bytes field: {err}")))
}

/// An optional `bytes` field: a base64 string (standard alphabet, padded), as Go's
/// encoding/json writes `[]byte`.
pub mod base64_option {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(
        value: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serializer.serialize_str(&STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => decode_base64(&text).map(Some),
            None => Ok(None),
        }
    }
}

/// A `map<string, bytes>` field (Secret.data, ConfigMap.binaryData): base64 values.
pub mod base64_map {
    use super::*;
    use serde::ser::SerializeMap;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (key, value) in map {
            out.serialize_entry(key, &STANDARD.encode(value))?;
        }
        out.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
        let encoded: Option<BTreeMap<String, Option<String>>> = Option::deserialize(deserializer)?;
        encoded
            .unwrap_or_default()
            .into_iter()
            .map(|(key, text)| {
                let bytes = match text {
                    Some(text) => decode_base64(&text)?,
                    None => Vec::new(),
                };
                Ok((key, bytes))
            })
            .collect()
    }
}
