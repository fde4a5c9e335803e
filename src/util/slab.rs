//! A slab whose keys carry a generation, so a stale key (to an entry that was removed and
//! whose slot was reused) is recognised instead of reaching the new entry.
//!
//! The loop keeps its tasks and its timers here. Memory goes back to the allocator when the
//! slab empties, and its tail is trimmed as the last slots are freed, so a burst of a million
//! timers that are all cancelled does not keep a million slots alive.

/// A key into a [`Slab`]: slot index and the generation of the entry it was made for.
///
/// Generations are 64-bit, so a key kept for as long as a program runs stays stale once its
/// entry is gone (a `TimerHandle` cancelled hours later must not cancel another timer). Where
/// a key must fit one `u64` (a mio token, a task's waker), it is packed with the low 32 bits of
/// its generation; a packed key matches on those bits only, which at worst makes a stale
/// wake-up spurious, never wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u64,
}

/// Marks the generation of a key unpacked from a `u64`: only its low 32 bits are known.
const PACKED: u64 = 1 << 63;

impl Key {
    pub(crate) fn to_u64(self) -> u64 {
        ((self.generation & 0xFFFF_FFFF) << 32) | u64::from(self.index)
    }

    pub(crate) fn from_u64(raw: u64) -> Key {
        Key {
            index: raw as u32,
            generation: PACKED | (raw >> 32),
        }
    }

    fn matches(self, generation: u64) -> bool {
        if self.generation & PACKED != 0 {
            generation & 0xFFFF_FFFF == self.generation & 0xFFFF_FFFF
        } else {
            generation == self.generation
        }
    }
}

enum Slot<T> {
    Occupied { generation: u64, value: T },
    Vacant,
}

pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Indices of vacant slots. May name indices past `slots.len()` after a trim; those are
    /// skipped when popped.
    free: Vec<u32>,
    len: usize,
    /// The generation of the last insert. Every insert takes a new one, so a key stays stale
    /// even after its slot was trimmed away and made again.
    generation: u64,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            generation: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots held, occupied or not: what the slab costs in memory.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// The key the next [`insert`](Slab::insert) will return.
    pub(crate) fn vacant_key(&mut self) -> Key {
        let generation = self.generation.wrapping_add(1);
        while let Some(&index) = self.free.last() {
            if let Some(Slot::Vacant) = self.slots.get(index as usize) {
                return Key { index, generation };
            }
            self.free.pop();
        }
        let index = u32::try_from(self.slots.len()).expect("slab holds at most u32::MAX entries");
        Key { index, generation }
    }

    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.insert_with(|_| value)
    }

    /// Inserts the value `make` builds from its own key (a task's waker header names it).
    #[inline]
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        let key = self.vacant_key();
        let value = make(key);
        self.generation = key.generation;
        self.len += 1;
        let slot = Slot::Occupied {
            generation: key.generation,
            value,
        };
        if key.index as usize == self.slots.len() {
            self.slots.push(slot);
        } else {
            self.free.pop();
            self.slots[key.index as usize] = slot;
        }
        key
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(Slot::Occupied { generation, value }) if key.matches(*generation) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(Slot::Occupied { generation, value }) if key.matches(*generation) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        match slot {
            Slot::Occupied { generation, .. } if key.matches(*generation) => {}
            _ => return None,
        }
        let Slot::Occupied { value, .. } = std::mem::replace(slot, Slot::Vacant) else {
            unreachable!()
        };
        self.len -= 1;
        if self.len == 0 {
            self.slots = Vec::new();
            self.free = Vec::new();
        } else {
            self.free.push(key.index);
            self.trim_tail();
        }
        Some(value)
    }

    /// Gives back vacant slots at the end, so memory follows the highest live key down.
    fn trim_tail(&mut self) {
        let before = self.slots.len();
        while let Some(Slot::Vacant) = self.slots.last() {
            self.slots.pop();
        }
        let after = self.slots.len();
        if after < before && after < self.slots.capacity() / 4 {
            self.slots.shrink_to(after * 2);
            self.free.retain(|&i| (i as usize) < after);
            self.free.shrink_to(self.free.len() * 2);
        }
    }

    /// Every occupied entry, with its key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match slot {
                Slot::Occupied { generation, value } => Some((
                    Key {
                        index: index as u32,
                        generation: *generation,
                    },
                    value,
                )),
                Slot::Vacant => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_miss() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let _keep = slab.insert("keep");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(b.index, a.index);
        assert_ne!(b, a);
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(Key::from_u64(b.to_u64())), Some(&"b"));
        assert_eq!(slab.get(Key::from_u64(a.to_u64())), None);
    }

    #[test]
    fn memory_returns_when_entries_go() {
        let mut slab = Slab::new();
        let keys: Vec<_> = (0..100_000).map(|i| slab.insert(i)).collect();
        let keep = keys[10];
        for &k in keys.iter().rev() {
            if k != keep {
                slab.remove(k);
            }
        }
        assert_eq!(slab.len(), 1);
        assert!(slab.capacity() < 1_000, "capacity {}", slab.capacity());
        slab.remove(keep);
        assert_eq!(slab.capacity(), 0);
        let again = slab.insert(0);
        assert_eq!(again.index, keys[0].index);
        assert_eq!(
            slab.get(keys[0]),
            None,
            "a key from before the trim must stay stale"
        );
    }
}
