//! What `readuntil` accepts as a separator: one byte string, or a set of them (asyncio 3.13).

/// One separator (`b"\n"`, `"\r\n"`, a `Vec<u8>`) or a set of them (`[&b"\r\n"[..], b"\n"]`,
/// a slice or `Vec` of byte strings) for [`StreamReader::readuntil`](crate::StreamReader::readuntil).
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let mut r = asyncio::StreamReader::new();
/// r.feed_data(b"a;b|c");
/// assert_eq!(r.readuntil(";").await.unwrap(), b"a;");
/// let seps: [&[u8]; 2] = [b"|", b";"];
/// assert_eq!(r.readuntil(seps).await.unwrap(), b"b|");
/// # });
/// ```
pub trait Separators {
    /// The separators, each at least one byte long.
    fn separators(&self) -> Vec<&[u8]>;
}

impl Separators for [u8] {
    fn separators(&self) -> Vec<&[u8]> {
        vec![self]
    }
}

impl<const N: usize> Separators for [u8; N] {
    fn separators(&self) -> Vec<&[u8]> {
        vec![self.as_slice()]
    }
}

impl Separators for str {
    fn separators(&self) -> Vec<&[u8]> {
        vec![self.as_bytes()]
    }
}

impl Separators for Vec<u8> {
    fn separators(&self) -> Vec<&[u8]> {
        vec![self.as_slice()]
    }
}

impl Separators for [&[u8]] {
    fn separators(&self) -> Vec<&[u8]> {
        self.to_vec()
    }
}

impl<const N: usize> Separators for [&[u8]; N] {
    fn separators(&self) -> Vec<&[u8]> {
        self.to_vec()
    }
}

impl Separators for Vec<&[u8]> {
    fn separators(&self) -> Vec<&[u8]> {
        self.clone()
    }
}

impl<T: Separators + ?Sized> Separators for &T {
    fn separators(&self) -> Vec<&[u8]> {
        (**self).separators()
    }
}

/// The end of the earliest-ending match at or after `offset`, and its start (asyncio: the
/// shortest match wins).
pub(crate) fn find(buf: &[u8], seps: &[&[u8]], offset: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for sep in seps {
        if let Some(i) = find_one(&buf[offset.min(buf.len())..], sep) {
            let start = offset + i;
            let end = start + sep.len();
            if best.map_or(true, |(_, e)| end < e) {
                best = Some((start, end));
            }
        }
    }
    best
}

fn find_one(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return hay.iter().position(|&b| b == needle[0]);
    }
    if hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match hay[i..=last_start].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_earliest_end() {
        let seps: [&[u8]; 2] = [b"\r\n", b"\n"];
        assert_eq!(find(b"ab\r\ncd", &seps, 0), Some((2, 4)));
        assert_eq!(find(b"abc", &seps, 0), None);
        assert_eq!(find(b"a\nb\r\n", &seps, 2), Some((3, 5)));
        let seps: [&[u8]; 2] = [b"xyz", b"y"];
        assert_eq!(find(b"axyz", &seps, 0), Some((2, 3)));
    }
}
