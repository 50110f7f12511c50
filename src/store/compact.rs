//! One object's metrics in compact form, and how they are written back out.
//!
//! KSM keeps every object's metrics as pre-rendered text: each series repeats the
//! metric name and all default labels (`namespace="…",pod="…",uid="…"`), about
//! 8.5 KB per pod. Here an object keeps:
//! - `prefix`: its default labels rendered once (`namespace="a",pod="b",uid="c"`);
//! - `data`: a byte stream of samples followed by a small string arena.
//!
//! Stream, per enabled family in order: a varint sample count, then per sample a
//! value tag (`0` → 0, `1` → 1, `2` → an f64 follows, little endian) and label value
//! references (families with per-object label names store `n` then `n` key/value
//! reference pairs). A reference is a varint: `offset << 1` into the object's arena
//! (a varint length + the already escaped bytes; equal strings stored once per
//! object), or `id << 1 | 1` into a process-wide fixed vocabulary of common words
//! (`true`, `cpu`, `byte`, `Running`, …). Metric and label names are never stored:
//! they come from the family table at scrape time.

use std::collections::HashMap;
use std::sync::Arc;

use crate::metrics::family::{FamilyMeta, Sample};
use crate::metrics::format::{go_float_bytes, push_escaped_label_value};
use crate::metrics::resource::Generated;

use super::vocab;

/// An object's metrics as the store keeps them: one shared allocation holding a header
/// (which families have samples, where the stream and the arena start), the prefix, the
/// sample stream and the arena. A scrape reads the prefix and the stream of every object
/// once per family, so keeping them together costs one cache miss per object instead of
/// two. Cloning is a reference count increment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    bytes: Arc<[u8]>,
}

/// Header bytes: the [`FamilySet`] (16, little endian), then the end of the prefix and the
/// start of the arena (4 each, little endian, offsets into the whole allocation).
const HEADER: usize = 24;

/// A [`StoredObject`] as a scrape reads it: the header is read once, when the scrape takes
/// its snapshot, and kept beside the pointer, so a family pass finds an object's data
/// without first loading a header from the object's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactObject {
    bytes: Arc<[u8]>,
    /// `bytes[HEADER..prefix_end]` is the prefix (valid UTF-8: built from a `String`).
    prefix_end: u32,
    /// `bytes[prefix_end..arena_start]` is the stream, `bytes[arena_start..]` the arena.
    arena_start: u32,
    /// Which families have samples (see [`FamilySet`]).
    with_samples: FamilySet,
}

/// A set of family positions (in the resource's enabled families). A scrape copies each
/// object's set into its snapshot, so a family pass skips the objects without samples of
/// that family without touching their memory: most (object, family) pairs are empty, and at
/// 150,000 pods each touch was a cache miss. Positions past the set's width are always in
/// it (visited, as before the set existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FamilySet(u128);

impl FamilySet {
    const WIDTH: usize = u128::BITS as usize;
    /// Every family (what a header that cannot be read says).
    const ALL: FamilySet = FamilySet(u128::MAX);

    fn insert(&mut self, family: usize) {
        if family < Self::WIDTH {
            self.0 |= 1 << family;
        }
    }

    pub fn contains(self, family: usize) -> bool {
        family >= Self::WIDTH || self.0 & (1 << family) != 0
    }

    /// The families in either set.
    pub fn union(self, other: FamilySet) -> FamilySet {
        FamilySet(self.0 | other.0)
    }
}

const TAG_ZERO: u8 = 0;
const TAG_ONE: u8 = 1;
const TAG_FLOAT: u8 = 2;

impl StoredObject {
    /// An object's metrics as generated, in the stored form.
    pub fn build(
        default_labels: &[&str],
        generated: &Generated<'_>,
        families: &[FamilyMeta],
    ) -> StoredObject {
        let mut prefix = Vec::new();
        for (index, (name, value)) in default_labels
            .iter()
            .zip(&generated.default_values)
            .enumerate()
        {
            if index > 0 {
                prefix.push(b',');
            }
            prefix.extend_from_slice(name.as_bytes());
            prefix.extend_from_slice(b"=\"");
            push_escaped_label_value(&mut prefix, value);
            prefix.push(b'"');
        }
        let mut builder = Builder::default();
        let mut with_samples = FamilySet::default();
        for (family, (meta, samples)) in families.iter().zip(&generated.families).enumerate() {
            if !samples.samples.is_empty() {
                with_samples.insert(family);
            }
            push_varint(&mut builder.stream, samples.samples.len() as u64);
            for sample in &samples.samples {
                builder.push_sample(sample, meta.labels.is_none());
            }
        }
        let prefix = String::from_utf8_lossy(&prefix).into_owned();
        let prefix_end = HEADER + prefix.len();
        let arena_start = prefix_end + builder.stream.len();
        let mut bytes = Vec::with_capacity(arena_start + builder.arena.len());
        bytes.extend_from_slice(&with_samples.0.to_le_bytes());
        bytes.extend_from_slice(&(prefix_end as u32).to_le_bytes());
        bytes.extend_from_slice(&(arena_start as u32).to_le_bytes());
        bytes.extend_from_slice(prefix.as_bytes());
        bytes.extend_from_slice(&builder.stream);
        bytes.extend_from_slice(&builder.arena);
        StoredObject {
            bytes: Arc::from(bytes),
        }
    }

    /// The object with its header read.
    pub fn view(&self) -> CompactObject {
        let field = |range: std::ops::Range<usize>| self.bytes.get(range).unwrap_or_default();
        let word = |at: usize| {
            field(at..at + 4)
                .try_into()
                .map_or(HEADER as u32, u32::from_le_bytes)
        };
        let with_samples = field(0..16)
            .try_into()
            .map_or(FamilySet::ALL, |set| FamilySet(u128::from_le_bytes(set)));
        // `build` wrote these; clamped anyway, so a slice can never be out of order.
        let arena_start = (word(20) as usize).min(self.bytes.len());
        let prefix_end = (word(16) as usize).clamp(HEADER.min(arena_start), arena_start);
        CompactObject {
            bytes: Arc::clone(&self.bytes),
            prefix_end: prefix_end as u32,
            arena_start: arena_start as u32,
            with_samples,
        }
    }

    /// Heap bytes owned by this object (for measurements).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len()
    }
}

impl CompactObject {
    /// The families this object has samples of.
    pub fn families_with_samples(&self) -> FamilySet {
        self.with_samples
    }

    /// Moves `cursor` past `count` families that [`CompactObject::families_with_samples`]
    /// says are empty, without reading the object: each holds a count of zero, one byte.
    pub fn skip_empty_families(cursor: &mut usize, count: usize) {
        *cursor += count;
    }

    /// Rendered default labels; also the object's position in a scrape.
    pub fn prefix(&self) -> &str {
        let bytes = self.prefix_bytes();
        // SAFETY: `build` copied these bytes from a `String`.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn prefix_bytes(&self) -> &[u8] {
        &self.bytes[HEADER..self.prefix_end as usize]
    }

    fn stream(&self) -> &[u8] {
        &self.bytes[self.prefix_end as usize..self.arena_start as usize]
    }

    fn arena(&self) -> &[u8] {
        &self.bytes[self.arena_start as usize..]
    }

    /// Where the samples at `cursor`, the default labels and the arena lie (for
    /// prefetching).
    pub fn memory_at(&self, cursor: usize) -> [*const u8; 4] {
        let start = self.bytes.as_ptr();
        [
            start.wrapping_add(self.prefix_end as usize + cursor),
            start.wrapping_add(HEADER),
            // A prefix (namespace, name, uid) is about 100 bytes: its second cache line.
            start.wrapping_add((self.prefix_end as usize).saturating_sub(1)),
            start.wrapping_add(self.arena_start as usize),
        ]
    }

    /// Writes the samples of the family whose data starts at `*cursor` and moves
    /// the cursor past it. Families must be visited in order.
    ///
    /// Each sample is measured first (its label references resolved, its value
    /// formatted on the stack), then `out` grows once and the pieces are copied in
    /// without further capacity checks.
    pub fn write_family(&self, meta: &FamilyMeta, cursor: &mut usize, out: &mut Vec<u8>) {
        let mut reader = Reader {
            data: self.stream(),
            pos: *cursor,
        };
        let count = reader.varint();
        if count == 0 {
            // Most (object, family) pairs have no sample: skip setting up the label table.
            *cursor = reader.pos;
            return;
        }
        let mut labels: [(&[u8], &[u8]); INLINE_LABELS] = [(&[], &[]); INLINE_LABELS];
        for _ in 0..count {
            let value = match reader.byte() {
                TAG_ZERO => 0.0,
                TAG_ONE => 1.0,
                _ => reader.float(),
            };
            let resume = reader.pos;
            let mut used = 0;
            let mut overflow = false;
            let mut add = |key: &'static [u8], key_ref: Option<u64>, value_ref: u64| {
                if used == INLINE_LABELS {
                    overflow = true;
                    return;
                }
                let key = match key_ref {
                    Some(reference) => self.resolve(reference),
                    None => key,
                };
                labels[used] = (key, self.resolve(value_ref));
                used += 1;
            };
            match meta.labels {
                Some(names) => {
                    for name in names {
                        let value_ref = reader.varint();
                        add(name.as_bytes(), None, value_ref);
                    }
                }
                None => {
                    for _ in 0..reader.varint() {
                        let key_ref = reader.varint();
                        let value_ref = reader.varint();
                        add(b"", Some(key_ref), value_ref);
                    }
                }
            }
            if overflow {
                // More labels than the inline table holds (rare: wide `_labels` families).
                reader.pos = resume;
                self.write_sample_slowly(meta, value, &mut reader, out);
                continue;
            }
            write_sample(
                meta.name.as_bytes(),
                self.prefix_bytes(),
                &labels[..used],
                value,
                out,
            );
        }
        *cursor = reader.pos;
    }

    /// [`CompactObject::write_family`] for one sample, piece by piece.
    fn write_sample_slowly(
        &self,
        meta: &FamilyMeta,
        value: f64,
        reader: &mut Reader<'_>,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(meta.name.as_bytes());
        let mut open = false;
        let mut separator = |out: &mut Vec<u8>| {
            out.push(if open { b',' } else { b'{' });
            open = true;
        };
        if !self.prefix_bytes().is_empty() {
            separator(out);
            out.extend_from_slice(self.prefix_bytes());
        }
        match meta.labels {
            Some(names) => {
                for name in names {
                    separator(out);
                    out.extend_from_slice(name.as_bytes());
                    self.write_quoted(reader.varint(), out);
                }
            }
            None => {
                for _ in 0..reader.varint() {
                    separator(out);
                    let key = reader.varint();
                    out.extend_from_slice(self.resolve(key));
                    self.write_quoted(reader.varint(), out);
                }
            }
        }
        if open {
            out.push(b'}');
        }
        out.push(b' ');
        out.extend_from_slice(go_float_bytes(value).as_bytes());
        out.push(b'\n');
    }

    fn write_quoted(&self, reference: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(b"=\"");
        out.extend_from_slice(self.resolve(reference));
        out.push(b'"');
    }

    fn resolve(&self, reference: u64) -> &[u8] {
        if reference & 1 == 1 {
            return vocab::word(reference >> 1).as_bytes();
        }
        let arena = self.arena();
        let mut reader = Reader {
            data: arena,
            pos: (reference >> 1) as usize,
        };
        let len = reader.varint() as usize;
        arena.get(reader.pos..reader.pos + len).unwrap_or_default()
    }
}

/// Extra labels a sample may have for the one-reservation write; more take the slow path.
const INLINE_LABELS: usize = 32;

/// Writes `name{prefix,key="value",…} value\n` with one capacity check: the length is
/// summed first, `out` reserves it, and the pieces are copied into the reserved space.
fn write_sample(
    name: &[u8],
    prefix: &[u8],
    labels: &[(&[u8], &[u8])],
    value: f64,
    out: &mut Vec<u8>,
) {
    let formatted;
    let value: &[u8] = if value == 1.0 {
        b"1"
    } else if value == 0.0 {
        b"0"
    } else {
        formatted = go_float_bytes(value);
        formatted.as_bytes()
    };
    let braces = !prefix.is_empty() || !labels.is_empty();
    // `,key="value"` per label; the first separator is the `{`.
    let label_bytes: usize = labels
        .iter()
        .map(|(key, value)| key.len() + value.len() + 4)
        .sum();
    let total = name.len() + prefix.len() + label_bytes + usize::from(braces) * 2
        - usize::from(prefix.is_empty() && !labels.is_empty())
        + 1
        + value.len()
        + 1;
    out.reserve(total);
    let start = out.len();
    let mut filler = Filler {
        // SAFETY: `reserve` made room for `total` bytes past `start`.
        base: unsafe { out.as_mut_ptr().add(start) },
        written: 0,
        capacity: total,
    };
    filler.put(name);
    if braces {
        filler.put(b"{");
        filler.put(prefix);
        for (index, (key, label_value)) in labels.iter().enumerate() {
            if index > 0 || !prefix.is_empty() {
                filler.put(b",");
            }
            filler.put(key);
            filler.put(b"=\"");
            filler.put(label_value);
            filler.put(b"\"");
        }
        filler.put(b"}");
    }
    filler.put(b" ");
    filler.put(value);
    filler.put(b"\n");
    assert_eq!(filler.written, total, "sample length miscounted");
    // SAFETY: exactly `total` bytes past `start` were initialised above, within capacity.
    unsafe { out.set_len(start + total) };
}

/// Copies into space already reserved in a `Vec`.
struct Filler {
    base: *mut u8,
    written: usize,
    capacity: usize,
}

impl Filler {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        // `write_sample` sums its length from the very slices it then puts, so this holds by
        // construction; debug builds (every test) check it.
        debug_assert!(self.written + bytes.len() <= self.capacity);
        // SAFETY: the destination lies inside the reservation (see above) and cannot
        // overlap `bytes`, which never borrow the Vec's spare capacity.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(self.written), bytes.len());
        }
        self.written += bytes.len();
    }
}

#[derive(Default)]
struct Builder<'a> {
    stream: Vec<u8>,
    arena: Vec<u8>,
    seen: HashMap<&'a str, u64>,
}

impl<'a> Builder<'a> {
    fn push_sample(&mut self, sample: &'a Sample<'a>, dynamic: bool) {
        if sample.value == 0.0 && sample.value.is_sign_positive() {
            self.stream.push(TAG_ZERO);
        } else if sample.value == 1.0 {
            self.stream.push(TAG_ONE);
        } else {
            self.stream.push(TAG_FLOAT);
            self.stream.extend_from_slice(&sample.value.to_le_bytes());
        }
        if dynamic {
            push_varint(&mut self.stream, sample.keys.len() as u64);
            for (key, value) in sample.keys.iter().zip(&sample.values) {
                let key = self.reference(key);
                push_varint(&mut self.stream, key);
                let value = self.reference(value);
                push_varint(&mut self.stream, value);
            }
        } else {
            for value in &sample.values {
                let value = self.reference(value);
                push_varint(&mut self.stream, value);
            }
        }
    }

    fn reference(&mut self, text: &'a str) -> u64 {
        if let Some(id) = vocab::id(text) {
            return (u64::from(id) << 1) | 1;
        }
        if let Some(&offset) = self.seen.get(text) {
            return offset << 1;
        }
        let offset = self.arena.len() as u64;
        let mut escaped = Vec::with_capacity(text.len());
        push_escaped_label_value(&mut escaped, text);
        push_varint(&mut self.arena, escaped.len() as u64);
        self.arena.extend_from_slice(&escaped);
        self.seen.insert(text, offset);
        offset << 1
    }
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads what [`Builder`] wrote. The data is produced in-process, so a short read
/// (which would be a bug) yields zeros rather than a panic in the scrape path.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        value
    }

    fn float(&mut self) -> f64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        f64::from_le_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::metrics::family::{MetricType, Samples, Stability};

    const STATIC: FamilyMeta = FamilyMeta {
        name: "kube_x",
        kind: MetricType::Gauge,
        stability: Stability::Stable,
        opt_in: false,
        help: "",
        labels: Some(&["container", "reason"]),
    };
    const DYNAMIC: FamilyMeta = FamilyMeta {
        name: "kube_x_labels",
        labels: None,
        ..STATIC
    };
    const EMPTY: FamilyMeta = FamilyMeta {
        name: "kube_x_empty",
        labels: Some(&[]),
        ..STATIC
    };

    #[test]
    fn round_trips_samples() {
        let mut first = Samples::default();
        first.push(["app", "OOMKilled"], 1.0);
        first.push(["app", "we\"ird\\\n"], 137.0);
        first.push(["sidecar", "true"], 0.0);
        let mut second = Samples::default();
        second.push_dynamic(
            vec![
                ("label_app".to_string(), "app"),
                ("label_x".to_string(), "y"),
            ],
            1.0,
        );
        let mut third = Samples::default();
        third.push_owned(vec![], 1.5e9);
        let generated = Generated {
            default_values: vec!["ns", "pod-1", "uid-1"],
            families: vec![first, second, third, Samples::default()],
        };
        let families = [STATIC, DYNAMIC, EMPTY, EMPTY];
        let object =
            StoredObject::build(&["namespace", "pod", "uid"], &generated, &families).view();

        let mut out = Vec::new();
        let mut cursor = 0;
        for meta in &families {
            object.write_family(meta, &mut cursor, &mut out);
        }
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(
            text,
            concat!(
                "kube_x{namespace=\"ns\",pod=\"pod-1\",uid=\"uid-1\",container=\"app\",reason=\"OOMKilled\"} 1\n",
                "kube_x{namespace=\"ns\",pod=\"pod-1\",uid=\"uid-1\",container=\"app\",reason=\"we\\\"ird\\\\\\n\"} 137\n",
                "kube_x{namespace=\"ns\",pod=\"pod-1\",uid=\"uid-1\",container=\"sidecar\",reason=\"true\"} 0\n",
                "kube_x_labels{namespace=\"ns\",pod=\"pod-1\",uid=\"uid-1\",label_app=\"app\",label_x=\"y\"} 1\n",
                "kube_x_empty{namespace=\"ns\",pod=\"pod-1\",uid=\"uid-1\"} 1.5e+09\n",
            )
        );
        // "app" is stored once in the arena although used three times.
        assert_eq!(
            object
                .arena()
                .windows(4)
                .filter(|w| w == b"\x03app")
                .count(),
            1
        );
    }

    #[test]
    fn no_labels_at_all() {
        let mut samples = Samples::default();
        samples.push_owned(vec![Cow::Borrowed("x")], -1.0);
        let generated = Generated {
            default_values: vec![],
            families: vec![samples],
        };
        let meta = FamilyMeta {
            labels: Some(&["a"]),
            ..EMPTY
        };
        let object = StoredObject::build(&[], &generated, &[meta]).view();
        let mut out = Vec::new();
        object.write_family(&meta, &mut 0, &mut out);
        assert_eq!(out, b"kube_x_empty{a=\"x\"} -1\n");

        let generated = Generated {
            default_values: vec![],
            families: vec![{
                let mut s = Samples::default();
                s.push([], 2.0);
                s
            }],
        };
        let object = StoredObject::build(&[], &generated, &[EMPTY]).view();
        let mut out = Vec::new();
        object.write_family(&EMPTY, &mut 0, &mut out);
        assert_eq!(out, b"kube_x_empty 2\n");
    }

    /// Skipping the families the set leaves out moves the cursor exactly as writing them
    /// does, over more families than the set has positions (those are always visited).
    #[test]
    fn skipping_empty_families_keeps_the_cursor_in_step() {
        let count = FamilySet::WIDTH + 7;
        let with_samples = |family: usize| family % 3 == 0 || family == FamilySet::WIDTH + 1;
        let families: Vec<Samples> = (0..count)
            .map(|family| {
                let mut samples = Samples::default();
                if with_samples(family) {
                    samples.push(["c", "r"], family as f64);
                }
                samples
            })
            .collect();
        let generated = Generated {
            default_values: vec!["ns"],
            families,
        };
        let metas = vec![STATIC; count];
        let object = StoredObject::build(&["namespace"], &generated, &metas).view();
        let set = object.families_with_samples();

        let (mut written, mut skipped) = (Vec::new(), Vec::new());
        let (mut cursor_written, mut cursor_skipped) = (0, 0);
        for (family, meta) in metas.iter().enumerate() {
            assert_eq!(
                set.contains(family),
                with_samples(family) || family >= FamilySet::WIDTH,
                "family {family}"
            );
            object.write_family(meta, &mut cursor_written, &mut written);
            if set.contains(family) {
                object.write_family(meta, &mut cursor_skipped, &mut skipped);
            } else {
                CompactObject::skip_empty_families(&mut cursor_skipped, 1);
            }
            assert_eq!(cursor_skipped, cursor_written, "family {family}");
        }
        assert_eq!(written, skipped);
        assert_eq!(
            String::from_utf8_lossy(&written).lines().count(),
            (0..count).filter(|&family| with_samples(family)).count()
        );
    }
}
