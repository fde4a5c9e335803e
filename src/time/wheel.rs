//! A hierarchical timing wheel: O(1) insert and cancel, in ticks of the loop's clock
//! ([`TICK_NS`](crate::runtime::clock::TICK_NS), 50 µs).
//!
//! Six levels of 64 slots; a slot of level `L` spans `64^L` ticks, so the wheel covers
//! `64^6` ticks (about 40 days) ahead; a deadline farther out is parked in the top level and
//! re-placed each time its slot comes round. Each slot is a doubly linked list of entries kept
//! in one [`Slab`], so cancelling unlinks in O(1) and frees the entry at once.
//!
//! `elapsed` is the tick the wheel has been advanced to. Invariant: an entry in a level list has
//! `when > elapsed` and sits at the level of the highest bit in which `when` and `elapsed`
//! differ, so the lowest occupied level holds the earliest deadline. Entries that were already
//! due when inserted wait in the `expired` list. Entries due at the same tick fire in insertion
//! order, as asyncio's timers do.

use crate::util::slab::{Key, Slab};

const LEVELS: usize = 6;
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
/// Ticks the wheel can place directly; farther deadlines are re-placed as they come near.
const MAX_SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
/// How many entries of a higher-level slot [`Wheel::next_wake`] looks at to find the earliest.
const WAKE_SCAN: usize = 16;
/// Index of the list of entries that were due when inserted.
const EXPIRED: usize = LEVELS * SLOTS;

struct Entry<T> {
    when: u64,
    list: u16,
    prev: Option<Key>,
    next: Option<Key>,
    value: T,
}

#[derive(Clone, Copy, Default)]
struct List {
    head: Option<Key>,
    tail: Option<Key>,
}

pub(crate) struct Wheel<T> {
    entries: Slab<Entry<T>>,
    lists: Box<[List]>,
    occupied: [u64; LEVELS],
    elapsed: u64,
}

impl<T> Wheel<T> {
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            lists: vec![List::default(); LEVELS * SLOTS + 1].into_boxed_slice(),
            occupied: [0; LEVELS],
            elapsed: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry slots held in memory.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.entries.get_mut(key).map(|e| &mut e.value)
    }

    /// Adds an entry that fires once the wheel is advanced to `when`.
    pub(crate) fn insert(&mut self, when: u64, value: T) -> Key {
        let key = self.entries.insert(Entry {
            when,
            list: 0,
            prev: None,
            next: None,
            value,
        });
        self.place(key, when);
        key
    }

    /// Cancels an entry; `None` if it already fired or was removed.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        self.remove_if(key, |_| true)
    }

    /// [`remove`](Wheel::remove), of an entry whose value `wanted` accepts only.
    pub(crate) fn remove_if(&mut self, key: Key, wanted: impl FnOnce(&T) -> bool) -> Option<T> {
        if !wanted(&self.entries.get(key)?.value) {
            return None;
        }
        self.unlink(key);
        self.entries.remove(key).map(|e| e.value)
    }

    /// The tick at which the wheel next has work: the earliest slot to fire or cascade.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        // The loop asks twice a turn; without timers, answer before looking at the levels.
        if self.entries.is_empty() {
            return None;
        }
        if self.lists[EXPIRED].head.is_some() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, deadline)| deadline)
    }

    /// The tick to wake at for the next entry, for a loop about to block. As
    /// [`next_deadline`](Wheel::next_deadline), except when that is the start of a slot of a
    /// higher level, which is only a cascade: then, if the slot holds at most [`WAKE_SCAN`]
    /// entries, their earliest tick, so that the loop does not wake just to cascade. Never
    /// later than the earliest entry; advancing to it fires that entry.
    pub(crate) fn next_wake(&self) -> Option<u64> {
        // Asked before every block; a server without timers blocks once per request.
        if self.entries.is_empty() {
            return None;
        }
        if self.lists[EXPIRED].head.is_some() {
            return Some(self.elapsed);
        }
        let (list, start) = self.next_slot()?;
        let level = list / SLOTS;
        if level == 0 {
            return Some(start);
        }
        let mut earliest = u64::MAX;
        let mut cursor = self.lists[list].head;
        for _ in 0..WAKE_SCAN {
            let Some(key) = cursor else {
                // Every later slot, of this level or a higher one, starts at or after this
                // slot's end; an entry parked here from farther out (the top level) is later.
                let end = start.saturating_add(1 << (level as u32 * SLOT_BITS));
                return Some(if earliest < end { earliest } else { start });
            };
            let entry = self.entries.get(key).expect("linked timer entry is live");
            earliest = earliest.min(entry.when);
            cursor = entry.next;
        }
        Some(start)
    }

    /// Every entry's value, in no particular order: for closing the loop, which drops each
    /// one on its own so that one panicking `Drop` does not take the others with it.
    pub(crate) fn into_values(mut self) -> Vec<T> {
        let keys: Vec<Key> = self.entries.iter().map(|(key, _)| key).collect();
        keys.into_iter()
            .filter_map(|key| self.entries.remove(key))
            .map(|entry| entry.value)
            .collect()
    }

    /// Advances to `now`, appending every entry due by then to `out` in firing order.
    pub(crate) fn advance(&mut self, now: u64, out: &mut Vec<T>) {
        self.drain_list(EXPIRED, out);
        while let Some((list, deadline)) = self.next_slot() {
            if deadline > now {
                break;
            }
            self.elapsed = self.elapsed.max(deadline);
            self.drain_list(list, out);
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Takes every entry of one list: the due ones fire, the rest cascade to lower levels.
    fn drain_list(&mut self, list: usize, out: &mut Vec<T>) {
        let mut cursor = self.lists[list].head;
        self.lists[list] = List::default();
        if list < EXPIRED {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        while let Some(key) = cursor {
            let entry = self
                .entries
                .get_mut(key)
                .expect("linked timer entry is live");
            cursor = entry.next;
            let when = entry.when;
            if when <= self.elapsed {
                out.push(self.entries.remove(key).expect("live").value);
            } else {
                self.place(key, when);
            }
        }
    }

    fn place(&mut self, key: Key, when: u64) {
        let list = if when <= self.elapsed {
            EXPIRED
        } else {
            let when = when.min(self.elapsed + MAX_SPAN - 1);
            let masked = (self.elapsed ^ when) | (SLOTS as u64 - 1);
            // A deadline past the top level's window wraps into it, one window ahead.
            let level = (((63 - masked.leading_zeros()) / SLOT_BITS) as usize).min(LEVELS - 1);
            let slot = ((when >> (level as u32 * SLOT_BITS)) as usize) % SLOTS;
            self.occupied[level] |= 1 << slot;
            level * SLOTS + slot
        };
        let tail = self.lists[list].tail;
        let entry = self.entries.get_mut(key).expect("placing a live entry");
        entry.list = list as u16;
        entry.prev = tail;
        entry.next = None;
        match tail {
            Some(t) => self.entries.get_mut(t).expect("tail is live").next = Some(key),
            None => self.lists[list].head = Some(key),
        }
        self.lists[list].tail = Some(key);
    }

    fn unlink(&mut self, key: Key) {
        let entry = self.entries.get(key).expect("unlinking a live entry");
        let (list, prev, next) = (entry.list as usize, entry.prev, entry.next);
        match prev {
            Some(p) => self.entries.get_mut(p).expect("prev is live").next = next,
            None => self.lists[list].head = next,
        }
        match next {
            Some(n) => self.entries.get_mut(n).expect("next is live").prev = prev,
            None => self.lists[list].tail = prev,
        }
        if list < EXPIRED && self.lists[list].head.is_none() {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
    }

    /// The first occupied slot after `elapsed`, as (list index, tick it starts at).
    fn next_slot(&self) -> Option<(usize, u64)> {
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied == 0 {
                continue;
            }
            let shift = level as u32 * SLOT_BITS;
            let slot_range = 1u64 << shift;
            let level_range = slot_range << SLOT_BITS;
            let now_slot = ((self.elapsed >> shift) as usize) % SLOTS;
            // Search from the slot after `elapsed`'s: the current slot is empty at every level
            // but the top, where it holds only deadlines that wrapped a whole window ahead.
            let start = (now_slot + 1) % SLOTS;
            let slot =
                (occupied.rotate_right(start as u32).trailing_zeros() as usize + start) % SLOTS;
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + slot as u64 * slot_range;
            if slot <= now_slot {
                deadline += level_range;
            }
            return Some((level * SLOTS + slot, deadline));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire_all(wheel: &mut Wheel<u64>) -> Vec<(u64, u64)> {
        let mut fired = Vec::new();
        let mut out = Vec::new();
        while let Some(t) = wheel.next_deadline() {
            wheel.advance(t, &mut out);
            fired.extend(out.drain(..).map(|v| (t, v)));
        }
        fired
    }

    #[test]
    fn fires_each_entry_at_its_tick_in_order() {
        let mut wheel = Wheel::new();
        let whens = [
            1u64,
            5,
            63,
            64,
            65,
            4095,
            4096,
            5000,
            262_144,
            1 << 30,
            (1 << 36) + 7,
        ];
        for (i, &w) in whens.iter().enumerate().rev() {
            wheel.insert(w, i as u64);
        }
        let fired = fire_all(&mut wheel);
        let expected: Vec<_> = whens
            .iter()
            .enumerate()
            .map(|(i, &w)| (w, i as u64))
            .collect();
        assert_eq!(fired, expected);
        assert!(wheel.is_empty());
    }

    #[test]
    fn same_tick_fires_in_insertion_order_across_cascades() {
        let mut wheel = Wheel::new();
        wheel.insert(100, 1);
        let mut out = Vec::new();
        wheel.advance(70, &mut out);
        assert!(out.is_empty());
        wheel.insert(100, 2);
        wheel.insert(100, 3);
        assert_eq!(fire_all(&mut wheel), vec![(100, 1), (100, 2), (100, 3)]);
    }

    #[test]
    fn cancel_unlinks_and_frees() {
        let mut wheel = Wheel::new();
        let keys: Vec<_> = (0..10_000u64)
            .map(|i| wheel.insert(1 + i % 3000, i))
            .collect();
        for (i, k) in keys.iter().enumerate() {
            if i % 10 != 0 {
                assert_eq!(wheel.remove(*k), Some(i as u64));
            }
        }
        assert_eq!(wheel.len(), 1000);
        let fired = fire_all(&mut wheel);
        assert_eq!(fired.len(), 1000);
        assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(fired.iter().all(|&(t, v)| t == 1 + v % 3000 && v % 10 == 0));
        assert_eq!(wheel.capacity(), 0);
    }

    #[test]
    fn overdue_entries_fire_on_next_advance() {
        let mut wheel = Wheel::new();
        assert_eq!((wheel.next_deadline(), wheel.next_wake()), (None, None));
        let mut out = Vec::new();
        wheel.advance(500, &mut out);
        wheel.insert(10, 1);
        // Only the expired list holds an entry.
        assert_eq!(wheel.next_deadline(), Some(500));
        assert_eq!(wheel.next_wake(), Some(500));
        wheel.advance(500, &mut out);
        assert_eq!(out, vec![1]);
        assert_eq!((wheel.next_deadline(), wheel.next_wake()), (None, None));
    }

    #[test]
    fn advancing_past_many_slots_at_once_fires_everything_due() {
        let mut wheel = Wheel::new();
        for w in [3u64, 70, 4100, 300_000] {
            wheel.insert(w, w);
        }
        let mut out = Vec::new();
        wheel.advance(5000, &mut out);
        assert_eq!(out, vec![3, 70, 4100]);
        assert_eq!(wheel.next_deadline().map(|d| d <= 300_000), Some(true));
    }

    #[test]
    fn next_wake_skips_cascades_of_small_slots() {
        let mut wheel = Wheel::new();
        let mut out = Vec::new();
        wheel.advance(60, &mut out);
        // 70 and 100 differ from 60 above the low 6 bits: a level-1 slot starting at 64.
        wheel.insert(100, 2);
        wheel.insert(70, 1);
        assert_eq!(wheel.next_deadline(), Some(64));
        assert_eq!(wheel.next_wake(), Some(70));
        wheel.advance(70, &mut out);
        assert_eq!(out, vec![1]);
        assert_eq!(wheel.next_wake(), Some(100));
        // A crowded slot gives its start: finding its earliest would cost too much.
        let mut wheel = Wheel::new();
        for i in 0..=WAKE_SCAN as u64 {
            wheel.insert(5000 + i, i);
        }
        assert_eq!(wheel.next_wake(), wheel.next_deadline());
    }

    #[test]
    fn next_wake_is_not_fooled_by_an_entry_parked_from_far_away() {
        let mut wheel = Wheel::new();
        let mut out = Vec::new();
        // Past the wheel's span: parked in a top-level slot, its true tick far beyond.
        wheel.insert(MAX_SPAN * 3, 0);
        let parked_at = wheel.next_deadline().unwrap();
        assert_eq!(wheel.next_wake(), Some(parked_at));
        // An entry in a later top-level slot must not be skipped over.
        wheel.insert(parked_at + (1 << 30) + 5, 1);
        let wake = wheel.next_wake().unwrap();
        assert!(wake <= parked_at + (1 << 30) + 5);
        while out.is_empty() {
            let wake = wheel.next_wake().unwrap();
            wheel.advance(wake, &mut out);
        }
        assert_eq!(out, vec![1]);
    }

    /// Random inserts, cancels and advances against a plain model: every entry fires exactly
    /// at the first advance that reaches its tick, in (tick, insertion) order.
    #[test]
    fn agrees_with_a_model_under_random_operations() {
        let mut rand = crate::util::xorshift::below(0x9E37_79B9_7F4A_7C15);
        for _round in 0..30 {
            let mut wheel = Wheel::new();
            let mut model: Vec<(u64, u64, Key)> = Vec::new(); // (when, seq, key)
            let mut now = 0u64;
            let mut out = Vec::new();
            for seq in 0..2_000u64 {
                match rand(10) {
                    0..=5 => {
                        let span = [10, 100, 5_000, 300_000, 1 << 40][rand(5) as usize];
                        let when = now + 1 + rand(span);
                        model.push((when, seq, wheel.insert(when, seq)));
                    }
                    6 | 7 if !model.is_empty() => {
                        let (_, seq, key) = model.swap_remove(rand(model.len() as u64) as usize);
                        assert_eq!(wheel.remove(key), Some(seq));
                    }
                    _ => {
                        let step = [3, 70, 5_000, 400_000][rand(4) as usize];
                        now += rand(step);
                        wheel.advance(now, &mut out);
                        let mut due: Vec<_> =
                            model.iter().filter(|e| e.0 <= now).copied().collect();
                        due.sort_by_key(|e| (e.0, e.1));
                        model.retain(|e| e.0 > now);
                        let mut fired = std::mem::take(&mut out);
                        fired.sort_unstable();
                        let mut expected: Vec<u64> = due.iter().map(|e| e.1).collect();
                        expected.sort_unstable();
                        assert_eq!(fired, expected, "at {now}");
                        if let Some(next) = wheel.next_deadline() {
                            let earliest = model.iter().map(|e| e.0).min().unwrap();
                            assert!(
                                next <= earliest,
                                "next deadline {next} after an entry at {earliest}"
                            );
                            let wake = wheel.next_wake().unwrap();
                            assert!(
                                next <= wake && wake <= earliest,
                                "next wake {wake}: deadline {next}, earliest entry {earliest}"
                            );
                        }
                    }
                }
                assert_eq!(wheel.len(), model.len());
            }
        }
    }
}
