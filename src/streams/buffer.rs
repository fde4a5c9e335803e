//! The reader's byte buffer: a `Vec` with a read cursor, refilled in place.
//!
//! Bytes live in `data[start..end]`. The tail `data[end..]` is already-initialised spare room
//! that socket reads fill directly, so a refill never zeroes memory after the first growth;
//! consumed bytes are reclaimed by moving the live bytes to the front when that is cheap.

/// How much a socket read asks for at once.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

#[derive(Default)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Removes and returns the first `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.data[self.start..self.start + n].to_vec();
        self.consume(n);
        out
    }

    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // After a burst, give the memory back rather than keep a huge buffer per
            // connection.
            if self.data.len() > 4 * READ_CHUNK {
                self.data = Vec::new();
            }
        }
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        let spare = self.spare(bytes.len());
        spare[..bytes.len()].copy_from_slice(bytes);
        self.commit(bytes.len());
    }

    /// At least `min` bytes of spare room after the live bytes.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.data.len() - self.end < min {
            if self.start > 0 && self.start >= self.len() {
                // The live bytes are fewer than the dead ones before them: moving them is
                // cheaper than growing.
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.data.len() - self.end < min {
                self.data.resize(self.end + min, 0);
            }
        }
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes of the spare room as filled.
    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.data.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_take_and_reuse() {
        let mut b = ReadBuf::default();
        b.extend(b"hello world");
        assert_eq!(b.take(6), b"hello ");
        b.extend(b"!!");
        assert_eq!(b.bytes(), b"world!!");
        let spare = b.spare(3);
        spare[..3].copy_from_slice(b"abc");
        b.commit(3);
        assert_eq!(b.bytes(), b"world!!abc");
        b.consume(10);
        assert!(b.is_empty());
    }
}
