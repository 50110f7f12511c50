//! Kind-independent protobuf surgery on Kubernetes messages. Every object has its
//! ObjectMeta at field 1; every list has ListMeta at field 1 and items at field 2. That
//! is enough to split a list into items, re-page it and cut items down to metadata
//! without knowing the kind.

use bytes::{Buf, Bytes};
use prost::encoding::{decode_key, decode_varint, encode_key, encode_varint, WireType};
use prost::Message;

use crate::api::meta::v1::{ListMeta, ObjectMeta};

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Decode(#[from] prost::DecodeError),
    #[error("{0}")]
    Malformed(&'static str),
}

/// One top-level field of a message: its number and its payload (for
/// length-delimited fields, the bytes inside the length).
#[derive(Debug, Clone)]
pub struct Field {
    pub number: u32,
    pub wire_type: WireType,
    pub payload: Bytes,
}

/// Splits a message into its top-level fields.
pub fn fields(message: &Bytes) -> Result<Vec<Field>, WireError> {
    let mut buf = message.clone();
    let mut out = Vec::new();
    while buf.has_remaining() {
        let (number, wire_type) = decode_key(&mut buf)?;
        let start = message.len() - buf.remaining();
        let payload = match wire_type {
            WireType::Varint => {
                decode_varint(&mut buf)?;
                message.slice(start..message.len() - buf.remaining())
            }
            WireType::SixtyFourBit => take(message, &mut buf, 8)?,
            WireType::ThirtyTwoBit => take(message, &mut buf, 4)?,
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf)?)
                    .map_err(|_| WireError::Malformed("length overflows usize"))?;
                take(message, &mut buf, len)?
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(WireError::Malformed("groups are not used by Kubernetes"))
            }
        };
        out.push(Field {
            number,
            wire_type,
            payload,
        });
    }
    Ok(out)
}

fn take(message: &Bytes, buf: &mut Bytes, len: usize) -> Result<Bytes, WireError> {
    if buf.remaining() < len {
        return Err(WireError::Malformed(
            "field runs past the end of the message",
        ));
    }
    let start = message.len() - buf.remaining();
    buf.advance(len);
    Ok(message.slice(start..start + len))
}

/// A list's ListMeta and raw items.
pub fn split_list(raw: &Bytes) -> Result<(ListMeta, Vec<Bytes>), WireError> {
    let mut meta = ListMeta::default();
    let mut items = Vec::new();
    for field in fields(raw)? {
        match field.number {
            1 => meta = ListMeta::decode(field.payload)?,
            2 => items.push(field.payload),
            _ => {}
        }
    }
    Ok((meta, items))
}

/// Encodes a list message from its ListMeta and raw items.
pub fn join_list(meta: &ListMeta, items: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, &meta.encode_to_vec());
    for item in items {
        put_bytes(&mut out, 2, item);
    }
    out
}

/// An object's ObjectMeta (field 1).
pub fn object_meta(raw: &Bytes) -> Result<ObjectMeta, WireError> {
    match fields(raw)?.into_iter().find(|f| f.number == 1) {
        Some(field) => Ok(ObjectMeta::decode(field.payload)?),
        None => Ok(ObjectMeta::default()),
    }
}

/// An object of any kind holding only this metadata (bookmarks).
pub fn object_with_metadata(meta: &ObjectMeta) -> Bytes {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, &meta.encode_to_vec());
    Bytes::from(out)
}

/// The object cut down to its metadata: a PartialObjectMetadata message.
pub fn metadata_only(raw: &Bytes) -> Result<Bytes, WireError> {
    let mut out = Vec::new();
    if let Some(field) = fields(raw)?.into_iter().find(|f| f.number == 1) {
        put_bytes(&mut out, 1, &field.payload);
    }
    Ok(Bytes::from(out))
}

fn put_bytes(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    encode_key(number, WireType::LengthDelimited, out);
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// Encodes a `meta.v1.WatchEvent` frame: 4-byte big-endian length, then the event.
pub fn watch_frame(event_type: &str, object_envelope: &[u8]) -> Vec<u8> {
    let event = crate::api::meta::v1::WatchEvent {
        r#type: Some(event_type.to_string()),
        object: Some(crate::api::runtime::RawExtension {
            raw: Some(Bytes::copy_from_slice(object_envelope)),
        }),
    };
    let body = event.encode_to_vec();
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}
