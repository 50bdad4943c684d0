//! The protobuf wire format, as much of it as the OTLP encoder writes: varints,
//! fixed-width numbers, and length-delimited fields whose lengths a first pass
//! measures.
//!
//! A message is written by one function generic over a [`Sink`], run twice: on a
//! [`Measure`], which records the length of every nested message in the order they
//! open, then on a [`Write`], which takes those lengths back in the same order to
//! write each prefix before its body. Both passes run the same code on the same
//! data, so they cannot disagree; [`Write::finish`] checks it all the same.

/// The wire type of a varint.
const VARINT: u32 = 0;
/// The wire type of an 8-byte little-endian number.
const FIXED64: u32 = 1;
/// The wire type of a length-delimited field (bytes, strings, messages, packed
/// repeated numbers).
const LEN: u32 = 2;

/// Where a message goes: counted by [`Measure`], written by [`Write`].
pub(super) trait Sink {
    /// Appends raw bytes.
    fn raw(&mut self, bytes: &[u8]);
    /// Appends a varint.
    fn varint(&mut self, value: u64);
    /// Appends 8 bytes, little-endian.
    fn fixed64(&mut self, value: u64);
    /// Appends field `field` as a length-delimited field whose body `body` writes.
    fn message(&mut self, field: u32, body: impl FnOnce(&mut Self));

    /// Appends the key of field `field` with wire type `wire_type`.
    fn key(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from((field << 3) | wire_type));
    }

    /// A `string` or `bytes` field, left out when empty (proto3's default).
    fn bytes_field(&mut self, field: u32, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.bytes_always(field, bytes);
        }
    }

    /// A `string` or `bytes` field written even when empty (a member of a `oneof`).
    fn bytes_always(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, LEN);
        self.varint(bytes.len() as u64);
        self.raw(bytes);
    }

    /// A varint field (`uint32`, `uint64`, `int64`, `bool`, an enum), left out when 0.
    fn varint_field(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.varint_always(field, value);
        }
    }

    /// A varint field written even when 0 (a member of a `oneof`).
    fn varint_always(&mut self, field: u32, value: u64) {
        self.key(field, VARINT);
        self.varint(value);
    }

    /// A `sint32` field (zigzag), left out when 0.
    fn sint32_field(&mut self, field: u32, value: i32) {
        let zigzag = (value << 1) ^ (value >> 31);
        self.varint_field(field, u64::from(zigzag.cast_unsigned()));
    }

    /// A `fixed64` or `sfixed64` field, left out when 0.
    fn fixed64_field(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.fixed64_always(field, value);
        }
    }

    /// A `fixed64`, `sfixed64` or `double` field (as its bits) written even when 0
    /// (a member of a `oneof`, or an `optional` field that is set).
    fn fixed64_always(&mut self, field: u32, value: u64) {
        self.key(field, FIXED64);
        self.fixed64(value);
    }

    /// A `double` field, left out when it equals 0 (`-0.0` included, as prost does).
    fn double_field(&mut self, field: u32, value: f64) {
        if value != 0.0 {
            self.fixed64_always(field, value.to_bits());
        }
    }

    /// A packed repeated `fixed64` or `double` field (as bits) of the numbers
    /// `values` gives, left out when empty.
    fn packed_fixed64<I: Iterator<Item = u64>>(&mut self, field: u32, values: impl Fn() -> I) {
        let n = values().count();
        if n == 0 {
            return;
        }
        self.key(field, LEN);
        self.varint((n as u64).saturating_mul(8));
        for value in values() {
            self.fixed64(value);
        }
    }

    /// A packed repeated varint field of the numbers `values` gives, left out when
    /// empty.
    fn packed_varint<I: Iterator<Item = u64>>(&mut self, field: u32, values: impl Fn() -> I) {
        if values().next().is_none() {
            return;
        }
        self.message(field, |s| {
            for value in values() {
                s.varint(value);
            }
        });
    }
}

/// The number of bytes `value` takes as a varint.
const fn varint_len(value: u64) -> usize {
    // 1 byte per started group of 7 bits, and 1 for 0.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The first pass: counts bytes, and records the length of each nested message in
/// the order the messages open.
#[derive(Debug)]
pub(super) struct Measure<'a> {
    len: usize,
    lengths: &'a mut Vec<usize>,
}

impl<'a> Measure<'a> {
    /// A measure that records into `lengths` (cleared first).
    pub(super) fn new(lengths: &'a mut Vec<usize>) -> Self {
        lengths.clear();
        Self { len: 0, lengths }
    }

    /// The length of everything measured.
    pub(super) const fn len(&self) -> usize {
        self.len
    }
}

impl Sink for Measure<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
    }

    fn varint(&mut self, value: u64) {
        self.len += varint_len(value);
    }

    fn fixed64(&mut self, _value: u64) {
        self.len += 8;
    }

    fn message(&mut self, field: u32, body: impl FnOnce(&mut Self)) {
        let slot = self.lengths.len();
        self.lengths.push(0);
        let start = self.len;
        body(self);
        let len = self.len - start;
        if let Some(recorded) = self.lengths.get_mut(slot) {
            *recorded = len;
        }
        self.len += varint_len(u64::from((field << 3) | LEN)) + varint_len(len as u64);
    }
}

/// The second pass: writes, taking each nested message's length from the first.
#[derive(Debug)]
pub(super) struct Write<'a> {
    out: &'a mut Vec<u8>,
    lengths: std::slice::Iter<'a, usize>,
    /// A message opened with no length left from the first pass.
    short: bool,
}

impl<'a> Write<'a> {
    /// A writer appending to `out`, with the lengths a [`Measure`] recorded.
    pub(super) fn new(out: &'a mut Vec<u8>, lengths: &'a [usize]) -> Self {
        Self {
            out,
            lengths: lengths.iter(),
            short: false,
        }
    }

    /// `true` when the writer used exactly the lengths it was given.
    pub(super) fn finish(self) -> bool {
        !self.short && self.lengths.len() == 0
    }
}

impl Sink for Write<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn varint(&mut self, mut value: u64) {
        loop {
            let [low, ..] = value.to_le_bytes();
            if value < 0x80 {
                self.out.push(low);
                return;
            }
            // The low 7 bits, with the continuation bit.
            self.out.push(low | 0x80);
            value >>= 7;
        }
    }

    fn fixed64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn message(&mut self, field: u32, body: impl FnOnce(&mut Self)) {
        let len = match self.lengths.next() {
            Some(len) => *len,
            None => {
                self.short = true;
                0
            }
        };
        self.key(field, LEN);
        self.varint(len as u64);
        body(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both passes over `f`, checked against each other.
    fn written(f: fn(&mut Measure<'_>), g: fn(&mut Write<'_>)) -> Vec<u8> {
        let mut lengths = Vec::new();
        let mut measure = Measure::new(&mut lengths);
        f(&mut measure);
        let len = measure.len();
        let mut out = Vec::new();
        let mut write = Write::new(&mut out, &lengths);
        g(&mut write);
        assert!(write.finish());
        assert_eq!(out.len(), len);
        out
    }

    const LONG: [u8; 200] = [7; 200];

    fn nested<S: Sink>(s: &mut S) {
        // Length prefixes of 1 and 2 bytes.
        s.message(1, |s| {
            s.bytes_field(2, b"ab");
            s.message(3, |s| s.bytes_field(4, &LONG));
        });
    }

    #[test]
    fn varint_lengths_match_the_bytes_written() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            Write::new(&mut out, &[]).varint(value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            assert_eq!(
                prost::encoding::decode_varint(&mut out.as_slice()).unwrap(),
                value
            );
        }
    }

    #[test]
    fn nested_messages_get_the_lengths_measured_first() {
        let out = written(|s| nested(s), |s| nested(s));
        let mut want = vec![0x0A, 0xD2, 0x01, 0x12, 2, b'a', b'b', 0x1A, 0xCB, 0x01];
        want.extend_from_slice(&[0x22, 0xC8, 0x01]);
        want.extend_from_slice(&LONG);
        assert_eq!(out, want);
    }

    #[test]
    fn a_writer_given_too_few_lengths_says_so() {
        let mut out = Vec::new();
        let mut write = Write::new(&mut out, &[]);
        nested(&mut write);
        assert!(!write.finish());
    }
}
