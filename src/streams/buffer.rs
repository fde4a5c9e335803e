//! The reader's byte buffer: a `Vec` with a read cursor, refilled in place.
//!
//! Bytes live in `data[start..end]`. The tail `data[end..]` is already-initialised spare room
//! that reads into `&mut [u8]` fill directly, so such a refill never zeroes memory after the
//! first growth; the capacity past `data.len()` is uninitialised room that plain sockets read
//! into directly ([`read_uninit`](ReadBuf::read_uninit)), so their refills never zero memory at
//! all. Consumed bytes are reclaimed by moving the live bytes to the front when that is cheap.
//!
//! A `take` of everything buffered, when that is a large read, hands the buffer itself over
//! instead of copying it out (`read(n)` of a 16 KiB message costs no 16 KiB copy). So that
//! the buffer handed over is not mostly empty, the room a socket read asks for follows what
//! the read before it returned (as Netty's adaptive receive buffers do): the next power of two
//! above it, between [`MIN_ROOM`] and [`READ_CHUNK`]. So a read that fills its room doubles
//! the next one, and a buffer handed over is at most twice its bytes; it is shrunk (a
//! `realloc`) only past that.
//!
//! # Memory of idle connections
//! When a reader waits for its socket ([`park`](ReadBuf::park)), an empty buffer goes back to
//! a small per-thread stock of [`spare`] buffers that the next connection to read takes (one
//! at most twice the room it asks for), and a mostly empty one is shrunk to its bytes. So a
//! connection waiting to read holds no read buffer, or one sized to the partial bytes it
//! holds, however large its reads once were; and a loop serving many connections touches a
//! few buffers instead of one per connection. (A handler busy with something else than
//! reading keeps its buffer until its next read waits.) A buffer that cannot be had (the
//! allocator said no, under `RLIMIT_AS` or strict overcommit) fails that read with
//! `OutOfMemory`, which closes that connection, instead of aborting the process.

use std::io;
use std::mem::MaybeUninit;
use std::task::Poll;

mod spare;

/// The most a socket read asks for at once.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The least a socket read asks for, and what the first read asks for: a connection that
/// sends little never gets a large buffer.
const MIN_ROOM: usize = 2 * HAND_OVER;

/// From this size on, taking everything that is buffered gives the buffer away rather than
/// copying the bytes out of it; the next read then gets fresh, uninitialised room. Below it,
/// a copy is cheaper than a new buffer.
const HAND_OVER: usize = 2 * 1024;

pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// The room the next socket read asks for.
    room: usize,
}

impl Default for ReadBuf {
    fn default() -> Self {
        ReadBuf {
            data: Vec::new(),
            start: 0,
            end: 0,
            room: MIN_ROOM,
        }
    }
}

impl ReadBuf {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Removes and returns the first `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Vec<u8> {
        if n >= HAND_OVER && self.start == 0 && n == self.end {
            let mut out = std::mem::take(&mut self.data);
            out.truncate(n);
            // Rare once reads ask for room near what they get (and a stocked buffer is at most
            // twice that room): a `realloc` costs more than the rest of the read.
            if out.capacity() > 2 * n {
                out.shrink_to_fit();
            }
            self.end = 0;
            return out;
        }
        let out = self.data[self.start..self.start + n].to_vec();
        self.consume(n);
        out
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // After a burst, give the memory back rather than keep a huge buffer per
            // connection.
            if self.data.capacity() > 4 * READ_CHUNK {
                self.data = Vec::new();
            }
        }
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        let spare = self.spare(bytes.len());
        spare[..bytes.len()].copy_from_slice(bytes);
        self.commit(bytes.len());
    }

    /// Before growing: when the live bytes are fewer than the dead ones before them, moves
    /// them to the front, which is cheaper than growing.
    #[inline]
    fn reclaim(&mut self) {
        if self.start > 0 && self.start >= self.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// At least `min` bytes of initialised spare room after the live bytes.
    #[inline]
    fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.data.len() - self.end < min {
            self.reclaim();
            if self.data.len() - self.end < min {
                self.data.resize(self.end + min, 0);
            }
        }
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes of the spare room from [`spare`](Self::spare) as filled.
    #[inline]
    fn commit(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.data.len());
    }

    /// How much the next socket read asks for.
    #[inline]
    pub(crate) fn room(&self) -> usize {
        self.room
    }

    /// Initialised spare room for a socket read: as much as the next read asks for.
    ///
    /// # Errors
    /// `OutOfMemory` if the room cannot be allocated.
    #[inline]
    pub(crate) fn read_room(&mut self) -> io::Result<&mut [u8]> {
        let room = self.room;
        if self.data.len() - self.end < room {
            self.reclaim();
            if self.data.len() - self.end < room {
                self.reserve(room)?;
                self.data.resize(self.end + room, 0);
            }
        }
        Ok(&mut self.data[self.end..])
    }

    /// Capacity for `room` bytes past the live ones: a spare buffer if this one has none, and
    /// an error rather than an abort if the allocator has no memory.
    #[inline]
    fn reserve(&mut self, room: usize) -> io::Result<()> {
        if self.data.capacity() == 0 {
            if let Some(buf) = spare::take(2 * room.max(MIN_ROOM)) {
                self.data = buf;
            }
        }
        let want = self.end + room;
        if self.data.capacity() >= want {
            return Ok(());
        }
        // `try_reserve` counts from `len`, which may hold initialised room past `end`.
        let more = want - self.data.len();
        self.data
            .try_reserve(more)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))
    }

    /// The reader waits for the socket: an empty buffer goes back to the spare stock, and a
    /// mostly empty one is shrunk to its bytes, so that an idle connection holds no more than
    /// what arrived (see the module's doc).
    #[inline]
    pub(crate) fn park(&mut self) {
        if self.data.capacity() == 0 {
            return;
        }
        if self.is_empty() {
            self.start = 0;
            self.end = 0;
            spare::give(std::mem::take(&mut self.data));
        } else if self.data.capacity() > 2 * self.len() + MIN_ROOM {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        self.data.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.data.truncate(self.end);
        self.data.shrink_to_fit();
    }

    /// Marks `n` bytes of the room from [`read_room`](Self::read_room) as filled by a read.
    #[inline]
    pub(crate) fn commit_read(&mut self, n: usize) {
        self.commit(n);
        self.adapt(n);
    }

    /// After a socket read of `n` bytes: the next asks for the next power of two above `n` (so
    /// a read that filled its room doubles the next).
    #[inline]
    fn adapt(&mut self, n: usize) {
        self.room = (n + 1).next_power_of_two().clamp(MIN_ROOM, READ_CHUNK);
    }

    /// Fills the buffer by a socket `read`, which is given as much spare room as the next read
    /// asks for (at least), not necessarily initialised, and commits what it read.
    ///
    /// # Safety
    /// When `read` returns `Ready(Ok(n))`, it must have initialised the first `n` bytes of the
    /// room it was given (`n` no more than its length).
    ///
    /// # Errors
    /// `OutOfMemory` if the room cannot be allocated (`read` is not called); else what `read`
    /// returns.
    #[inline]
    pub(crate) unsafe fn read_uninit(
        &mut self,
        read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let min = self.room;
        if self.data.capacity() - self.end < min {
            self.reclaim();
        }
        // The room is the capacity past the live bytes: what was initialised past them is
        // forgotten (a `u8` needs no drop).
        self.data.truncate(self.end);
        self.reserve(min)?;
        // A buffer from the stock comes with the bytes it held: forgotten too.
        self.data.truncate(self.end);
        let room = self.data.spare_capacity_mut();
        let len = room.len();
        let polled = read(room);
        if let Poll::Ready(Ok(n)) = &polled {
            assert!(*n <= len, "read past its room");
            // SAFETY: `data[..end]` was initialised, and `read` initialised the `n` bytes
            // after it (the caller's promise).
            unsafe { self.data.set_len(self.end + n) };
            self.end += n;
            self.adapt(*n);
        }
        polled
    }
}

impl Drop for ReadBuf {
    /// A closed connection's buffer serves the next one.
    fn drop(&mut self) {
        if self.data.capacity() != 0 {
            spare::give(std::mem::take(&mut self.data));
        }
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

    /// Reads like a socket's: writes as much of `bytes` as fits at the start of the room it
    /// is given; returns how much.
    fn read_into(b: &mut ReadBuf, bytes: &[u8]) -> usize {
        // SAFETY: the closure initialises exactly the `n` bytes it reports.
        let polled = unsafe {
            b.read_uninit(|room| {
                assert!(room.len() >= MIN_ROOM);
                let n = bytes.len().min(room.len());
                for (dst, src) in room.iter_mut().zip(&bytes[..n]) {
                    dst.write(*src);
                }
                Poll::Ready(Ok(n))
            })
        };
        match polled {
            Poll::Ready(Ok(n)) => n,
            _ => unreachable!(),
        }
    }

    /// Reads all of `bytes`, in as many socket reads as the room asks.
    fn read_all(b: &mut ReadBuf, bytes: &[u8]) {
        let mut got = 0;
        while got < bytes.len() {
            got += read_into(b, &bytes[got..]);
        }
    }

    #[test]
    fn uninit_reads_mix_with_initialised_ones() {
        let mut b = ReadBuf::default();
        assert_eq!(read_into(&mut b, b"abc"), 3);
        b.extend(b"def");
        assert_eq!(read_into(&mut b, b"ghi"), 3);
        assert_eq!(b.bytes(), b"abcdefghi");
        assert_eq!(b.take(4), b"abcd");
        assert_eq!(b.take(5), b"efghi");
        assert!(b.is_empty());
        assert_eq!(read_into(&mut b, b"x"), 1);
        assert_eq!(b.bytes(), b"x");
    }

    #[test]
    fn a_large_take_of_everything_hands_the_buffer_over() {
        let mut b = ReadBuf::default();
        let big: Vec<u8> = (0..3 * HAND_OVER).map(|i| i as u8).collect();
        read_all(&mut b, &big);
        let out = b.take(big.len());
        assert_eq!(out, big);
        assert!(
            out.capacity() <= 2 * big.len(),
            "shrunk to at most twice its bytes"
        );
        assert!(b.is_empty());
        // The next read gets fresh room.
        read_into(&mut b, b"next");
        assert_eq!(b.take(4), b"next");
        // A large take of part of the buffer copies, and leaves the rest.
        read_all(&mut b, &big);
        assert_eq!(b.take(HAND_OVER), &big[..HAND_OVER]);
        assert_eq!(b.bytes(), &big[HAND_OVER..]);
    }

    /// The room a read asks for follows the reads before it, so a 16 KiB message is handed
    /// over in a buffer of twice its size, not of `READ_CHUNK`, and with no `realloc`; and a
    /// new buffer asks for little.
    #[test]
    fn reads_ask_for_room_near_what_they_got() {
        let mut b = ReadBuf::default();
        assert_eq!(read_into(&mut b, b"x"), 1);
        assert!(
            b.data.capacity() < 2 * MIN_ROOM,
            "a first read asks for little"
        );
        b.consume(1);
        let message = vec![7u8; 16 * 1024];
        let mut capacities = Vec::new();
        for _ in 0..5 {
            read_all(&mut b, &message);
            let out = b.take(message.len());
            assert_eq!(out, message);
            capacities.push(out.capacity());
        }
        // The room grew by doubling over the first messages; now each is one read into
        // 32 KiB of room.
        assert_eq!(capacities[3..], [32 * 1024, 32 * 1024]);

        // A read that fills its room doubles the next, up to READ_CHUNK.
        let bulk = vec![1u8; 4 * READ_CHUNK];
        let (mut got, mut total) = (Vec::new(), 0);
        while total < bulk.len() {
            let n = read_into(&mut b, &bulk[total..]);
            got.push(n);
            total += n;
            b.consume(n);
        }
        assert_eq!(
            got,
            [32 * 1024, READ_CHUNK, READ_CHUNK, READ_CHUNK, 32 * 1024]
        );
        // Small reads bring it down, but not below MIN_ROOM.
        read_into(&mut b, b"tiny");
        assert_eq!(b.room, MIN_ROOM);
    }

    /// A reader that waits holds no buffer once it has read everything: the buffer goes to
    /// the spare stock, and the next reader's read takes that very buffer.
    #[test]
    fn a_parked_empty_buffer_serves_the_next_reader() {
        let mut a = ReadBuf::default();
        read_into(&mut a, b"hello");
        assert_eq!(a.take(5), b"hello");
        let held = a.data.as_ptr();
        let stocked = spare::len();
        a.park();
        assert_eq!(a.data.capacity(), 0, "an idle reader holds no buffer");
        assert_eq!(spare::len(), stocked + 1);
        let mut b = ReadBuf::default();
        read_into(&mut b, b"world");
        assert_eq!(b.data.as_ptr(), held, "the stocked buffer is reused");
        assert_eq!(spare::len(), stocked);
        assert_eq!(b.bytes(), b"world");
        // The first reader reads again as if nothing happened.
        read_into(&mut a, b"again");
        assert_eq!(a.bytes(), b"again");
    }

    /// A reader that waits with a few bytes in a large buffer (the start of a line, after a
    /// burst) keeps a buffer sized to its bytes, not to the burst.
    #[test]
    fn a_parked_buffer_with_a_few_bytes_is_shrunk_to_them() {
        let mut b = ReadBuf::default();
        let burst = vec![1u8; 3 * READ_CHUNK];
        read_all(&mut b, &burst);
        b.consume(burst.len() - 10);
        b.extend(b"abc");
        assert!(b.data.capacity() >= READ_CHUNK);
        b.park();
        assert_eq!(b.len(), 13);
        assert!(b.data.capacity() < MIN_ROOM, "{}", b.data.capacity());
        assert_eq!(&b.bytes()[10..], b"abc");
        // A buffer already near its bytes is left alone (no realloc each time it waits).
        let mut small = ReadBuf::default();
        read_into(&mut small, b"partial line");
        let cap = small.data.capacity();
        small.park();
        assert_eq!(small.data.capacity(), cap);
    }

    /// A buffer the allocator cannot give fails the read with `OutOfMemory`; the process
    /// goes on (Rust would abort on a failed `reserve`).
    #[test]
    fn a_buffer_that_cannot_be_had_is_an_error() {
        let mut b = ReadBuf::default();
        b.extend(b"kept");
        b.room = isize::MAX as usize;
        // SAFETY: the closure is never called: the room cannot be had.
        let polled = unsafe { b.read_uninit(|_| unreachable!("no room, no read")) };
        match polled {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::OutOfMemory),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            b.read_room().unwrap_err().kind(),
            io::ErrorKind::OutOfMemory
        );
        assert_eq!(b.bytes(), b"kept", "what was buffered stays");
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// `feed_data`'s way in.
        Extend(usize),
        /// A plain socket's way in.
        ReadUninit(usize),
        /// Room filled in place, what `extend` and `read_room` are built on.
        SpareCommit(usize),
        /// The other sockets' way in (TLS, pipes): as much as fits in the read's room.
        ReadRoom(usize),
        Take(usize),
        Consume(usize),
        /// The reader waits: the buffer may go to the stock, or shrink.
        Park,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Sizes on both sides of HAND_OVER, and enough of them to grow past READ_CHUNK.
        let size = prop_oneof![0usize..64, (HAND_OVER - 8)..(HAND_OVER + 8), 0usize..20_000];
        prop_oneof![
            size.clone().prop_map(Op::Extend),
            size.clone().prop_map(Op::ReadUninit),
            size.clone().prop_map(Op::SpareCommit),
            size.clone().prop_map(Op::ReadRoom),
            size.clone().prop_map(Op::Take),
            size.prop_map(Op::Consume),
            Just(Op::Park),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// Whatever the mix of ways in and out, the buffer holds exactly what came in and was
        /// not taken, and what a take returns wastes at most half its capacity.
        #[test]
        fn the_buffer_is_a_queue_of_bytes(ops in prop::collection::vec(op(), 0..40)) {
            let mut b = ReadBuf::default();
            let mut model: std::collections::VecDeque<u8> = Default::default();
            let mut next = 0u8;
            let mut bytes = |n: usize| -> Vec<u8> {
                (0..n).map(|_| { next = next.wrapping_add(1); next }).collect()
            };
            for op in ops {
                match op {
                    Op::Extend(n) => {
                        let v = bytes(n);
                        b.extend(&v);
                        model.extend(&v);
                    }
                    Op::ReadUninit(n) => {
                        let v = bytes(n);
                        let n = read_into(&mut b, &v);
                        model.extend(&v[..n]);
                    }
                    Op::SpareCommit(n) => {
                        let v = bytes(n);
                        b.spare(n)[..n].copy_from_slice(&v);
                        b.commit(n);
                        model.extend(&v);
                    }
                    Op::ReadRoom(n) => {
                        let v = bytes(n);
                        let room = b.read_room().unwrap();
                        let n = n.min(room.len());
                        room[..n].copy_from_slice(&v[..n]);
                        b.commit_read(n);
                        model.extend(&v[..n]);
                    }
                    Op::Take(n) => {
                        let n = n % (model.len() + 1);
                        let out = b.take(n);
                        let want: Vec<u8> = model.drain(..n).collect();
                        prop_assert!(out.capacity() <= 2 * out.len());
                        prop_assert_eq!(out, want);
                    }
                    Op::Consume(n) => {
                        let n = n % (model.len() + 1);
                        b.consume(n);
                        model.drain(..n);
                    }
                    Op::Park => b.park(),
                }
                prop_assert_eq!(b.len(), model.len());
                prop_assert!(b.bytes().iter().eq(model.iter()));
            }
        }
    }
}
