//! Schema-less reading of protobuf wire data: one field at a time, every failure a
//! value. The rules follow prost's decoder (what our generated types accept), so that
//! "the walker finds no wire error" and "prost decodes it" mean the same thing.

use std::fmt;

/// Nesting limit for groups and messages, the same as prost's default recursion limit.
pub const RECURSION_LIMIT: usize = 100;

/// The six wire types that exist, plus the two values a key can carry but must not.
pub fn wire_type_name(wire_type: u8) -> &'static str {
    match wire_type {
        0 => "varint",
        1 => "64-bit",
        2 => "length-delimited",
        3 => "start-group",
        4 => "end-group",
        5 => "32-bit",
        _ => "illegal",
    }
}

/// Why the bytes of a message cannot be read on: after any of these the position of
/// the next field is unknown, so the message's remaining bytes are lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// A varint with more than ten bytes or one that overflows 64 bits.
    InvalidVarint,
    /// A varint, fixed-width value or length-delimited value runs past the end.
    Truncated {
        field: Option<u32>,
        needed: u64,
        available: usize,
    },
    /// A key whose value does not fit 32 bits.
    KeyTooLarge { key: u64 },
    /// Wire type 6 or 7.
    IllegalWireType { field: u32, wire_type: u8 },
    /// Field number 0.
    FieldZero { wire_type: u8 },
    /// An end-group key where no group is open, or closing another field's group.
    UnexpectedEndGroup { field: u32 },
    /// A group that never ends.
    UnclosedGroup { field: u32 },
    /// Groups nested deeper than [`RECURSION_LIMIT`].
    TooDeep,
}

impl WireError {
    /// The field number the error belongs to, when the key could be read.
    pub fn field(&self) -> Option<u32> {
        match self {
            WireError::Truncated { field, .. } => *field,
            WireError::IllegalWireType { field, .. }
            | WireError::UnexpectedEndGroup { field }
            | WireError::UnclosedGroup { field } => Some(*field),
            WireError::InvalidVarint
            | WireError::KeyTooLarge { .. }
            | WireError::FieldZero { .. }
            | WireError::TooDeep => None,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::InvalidVarint => write!(f, "invalid varint (more than 64 bits)"),
            WireError::Truncated {
                field: Some(field),
                needed,
                available,
            } => write!(
                f,
                "field {field} needs {needed} bytes but only {available} remain (truncated)"
            ),
            WireError::Truncated {
                field: None,
                needed,
                available,
            } => write!(
                f,
                "a field key needs {needed} bytes but only {available} remain (truncated)"
            ),
            WireError::KeyTooLarge { key } => write!(f, "field key {key} does not fit 32 bits"),
            WireError::IllegalWireType { field, wire_type } => {
                write!(f, "field {field} has illegal wire type {wire_type}")
            }
            WireError::FieldZero { wire_type } => {
                write!(f, "field number 0 (wire type {wire_type}) is not allowed")
            }
            WireError::UnexpectedEndGroup { field } => {
                write!(
                    f,
                    "end-group key for field {field} without a matching start"
                )
            }
            WireError::UnclosedGroup { field } => {
                write!(f, "group of field {field} is never closed")
            }
            WireError::TooDeep => write!(
                f,
                "groups nested deeper than {RECURSION_LIMIT} levels (beyond the decoder's recursion limit)"
            ),
        }
    }
}

/// A value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// Wire type 2: the bytes and their offset in the reader's buffer.
    Bytes {
        bytes: &'a [u8],
        offset: usize,
    },
    /// Wire type 3: the bytes between the start and end keys and their offset.
    Group {
        bytes: &'a [u8],
        offset: usize,
    },
}

/// One field as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawField<'a> {
    pub number: u32,
    pub wire_type: u8,
    /// Offset of the field's key in the reader's buffer.
    pub offset: usize,
    pub value: Value<'a>,
}

/// Reads fields from the bytes of one message.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next field, `None` at the end. An end-group key is an error here: it is
    /// only legal while skipping a group, which [`Reader::next_field`] does itself.
    pub fn next_field(&mut self) -> Result<Option<RawField<'a>>, WireError> {
        if self.is_empty() {
            return Ok(None);
        }
        let offset = self.pos;
        let (number, wire_type) = self.read_key()?;
        if wire_type == 4 {
            return Err(WireError::UnexpectedEndGroup { field: number });
        }
        let value = self.read_value(number, wire_type, 0)?;
        Ok(Some(RawField {
            number,
            wire_type,
            offset,
            value,
        }))
    }

    /// Reads a key the way prost does: wire type checked before the field number.
    fn read_key(&mut self) -> Result<(u32, u8), WireError> {
        let key = self.read_varint(None)?;
        let Ok(key32) = u32::try_from(key) else {
            return Err(WireError::KeyTooLarge { key });
        };
        // Masked to three bits, so the cast cannot lose anything.
        let wire_type = (key32 & 7) as u8;
        let number = key32 >> 3;
        if wire_type > 5 {
            return Err(WireError::IllegalWireType {
                field: number,
                wire_type,
            });
        }
        if number == 0 {
            return Err(WireError::FieldZero { wire_type });
        }
        Ok((number, wire_type))
    }

    fn read_value(
        &mut self,
        number: u32,
        wire_type: u8,
        depth: usize,
    ) -> Result<Value<'a>, WireError> {
        match wire_type {
            0 => self.read_varint(Some(number)).map(Value::Varint),
            1 => {
                let bytes = self.take(8, Some(number))?;
                let mut array = [0u8; 8];
                array.copy_from_slice(bytes);
                Ok(Value::Fixed64(u64::from_le_bytes(array)))
            }
            5 => {
                let bytes = self.take(4, Some(number))?;
                let mut array = [0u8; 4];
                array.copy_from_slice(bytes);
                Ok(Value::Fixed32(u32::from_le_bytes(array)))
            }
            2 => {
                let len = self.read_varint(Some(number))?;
                let offset = self.pos;
                let bytes = self.take(len, Some(number))?;
                Ok(Value::Bytes { bytes, offset })
            }
            3 => {
                let offset = self.pos;
                let end = self.skip_group(number, depth + 1)?;
                let bytes = self.buf.get(offset..end).unwrap_or_default();
                Ok(Value::Group { bytes, offset })
            }
            // read_key rejects 6 and 7, and callers handle 4 before calling.
            _ => Err(WireError::UnexpectedEndGroup { field: number }),
        }
    }

    /// Skips the fields of a group up to its end key; returns where the end key starts.
    fn skip_group(&mut self, number: u32, depth: usize) -> Result<usize, WireError> {
        if depth > RECURSION_LIMIT {
            return Err(WireError::TooDeep);
        }
        loop {
            if self.is_empty() {
                return Err(WireError::UnclosedGroup { field: number });
            }
            let key_start = self.pos;
            let (inner, wire_type) = self.read_key()?;
            if wire_type == 4 {
                if inner != number {
                    return Err(WireError::UnexpectedEndGroup { field: inner });
                }
                return Ok(key_start);
            }
            self.read_value(inner, wire_type, depth)?;
        }
    }

    fn take(&mut self, len: u64, field: Option<u32>) -> Result<&'a [u8], WireError> {
        let available = self.buf.len() - self.pos;
        match usize::try_from(len) {
            Ok(n) if n <= available => {
                let bytes = &self.buf[self.pos..self.pos + n];
                self.pos += n;
                Ok(bytes)
            }
            _ => Err(WireError::Truncated {
                field,
                needed: len,
                available,
            }),
        }
    }

    /// A varint as prost reads it: at most ten bytes, the tenth at most 1.
    fn read_varint(&mut self, field: Option<u32>) -> Result<u64, WireError> {
        let mut value: u64 = 0;
        for index in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(WireError::Truncated {
                    field,
                    needed: index as u64 + 1,
                    available: index,
                });
            };
            self.pos += 1;
            if index == 9 && byte > 1 {
                return Err(WireError::InvalidVarint);
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(WireError::InvalidVarint)
    }
}

/// Reads a whole buffer as varints (a packed repeated field); true when it ends exactly.
pub fn packed_varints_are_valid(bytes: &[u8]) -> bool {
    let mut reader = Reader::new(bytes);
    while !reader.is_empty() {
        if reader.read_varint(None).is_err() {
            return false;
        }
    }
    true
}

/// The first value of `number` with wire type 2 in a message, read leniently: fields
/// before it must parse, anything after it may be broken.
pub fn first_bytes_of(message: &[u8], number: u32) -> Option<&[u8]> {
    let mut reader = Reader::new(message);
    while let Ok(Some(field)) = reader.next_field() {
        if field.number == number {
            if let Value::Bytes { bytes, .. } = field.value {
                return Some(bytes);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, u8)>, WireError> {
        let mut reader = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(field) = reader.next_field()? {
            out.push((field.number, field.wire_type));
        }
        Ok(out)
    }

    #[test]
    fn reads_each_wire_type() {
        let bytes = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x11, 1, 2, 3, 4, 5, 6, 7, 8, // 2: fixed64
            0x1a, 0x02, b'h', b'i', // 3: "hi"
            0x23, 0x08, 0x01, 0x24, // 4: group holding 1: varint 1
            0x2d, 1, 2, 3, 4, // 5: fixed32
        ];
        assert_eq!(
            fields(&bytes).unwrap(),
            vec![(1, 0), (2, 1), (3, 2), (4, 3), (5, 5)]
        );
    }

    #[test]
    fn names_the_illegal_wire_type_and_its_field() {
        // 'n' = 0x6e = field 13, wire type 6.
        assert_eq!(
            fields(b"nvidia").unwrap_err(),
            WireError::IllegalWireType {
                field: 13,
                wire_type: 6
            }
        );
        assert_eq!(
            WireError::IllegalWireType {
                field: 13,
                wire_type: 6
            }
            .to_string(),
            "field 13 has illegal wire type 6"
        );
    }

    #[test]
    fn rejects_overlong_and_overflowing_varints() {
        let mut eleven = vec![0x08];
        eleven.extend([0xff; 10]);
        eleven.push(0x01);
        assert_eq!(fields(&eleven).unwrap_err(), WireError::InvalidVarint);
        let mut overflow = vec![0x08];
        overflow.extend([0xff; 9]);
        overflow.push(0x02);
        assert_eq!(fields(&overflow).unwrap_err(), WireError::InvalidVarint);
        let mut max = vec![0x08];
        max.extend([0xff; 9]);
        max.push(0x01);
        assert_eq!(fields(&max).unwrap(), vec![(1, 0)]);
    }

    #[test]
    fn reports_truncation_with_what_was_claimed() {
        assert_eq!(
            fields(&[0x0a, 0x05, b'a']).unwrap_err(),
            WireError::Truncated {
                field: Some(1),
                needed: 5,
                available: 1
            }
        );
        assert!(matches!(
            fields(&[0x08, 0x80]).unwrap_err(),
            WireError::Truncated { .. }
        ));
    }

    #[test]
    fn checks_group_ends() {
        assert_eq!(
            fields(&[0x0b, 0x08, 0x01]).unwrap_err(),
            WireError::UnclosedGroup { field: 1 }
        );
        assert_eq!(
            fields(&[0x0b, 0x14]).unwrap_err(),
            WireError::UnexpectedEndGroup { field: 2 }
        );
        assert_eq!(
            fields(&[0x0c]).unwrap_err(),
            WireError::UnexpectedEndGroup { field: 1 }
        );
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 200).collect();
        assert_eq!(fields(&deep).unwrap_err(), WireError::TooDeep);
    }

    #[test]
    fn rejects_field_zero_and_huge_keys() {
        assert_eq!(
            fields(&[0x00]).unwrap_err(),
            WireError::FieldZero { wire_type: 0 }
        );
        let huge = [0x80, 0x80, 0x80, 0x80, 0x10];
        assert!(matches!(
            fields(&huge).unwrap_err(),
            WireError::KeyTooLarge { .. }
        ));
    }

    #[test]
    fn reads_a_name_before_broken_bytes() {
        // metadata { name: "n1" } followed by garbage.
        let message = [0x0a, 0x04, 0x0a, 0x02, b'n', b'1', 0xff];
        let metadata = first_bytes_of(&message, 1).unwrap();
        assert_eq!(first_bytes_of(metadata, 1), Some(&b"n1"[..]));
    }
}
