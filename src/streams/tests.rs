//! Property test: any chunking of any input, read through any sequence of reader operations,
//! gives back exactly the input, in order, with the results asyncio's semantics fix.

use super::error::ReadError;
use super::reader::{Source, StreamReader};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    Readline,
    Readuntil(Vec<Vec<u8>>),
    Readexactly(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..64).prop_map(Op::Read),
        Just(Op::Readline),
        prop_oneof![
            Just(vec![b";".to_vec()]),
            Just(vec![b"\n;".to_vec()]),
            Just(vec![b";;".to_vec(), b"\n".to_vec()]),
        ]
        .prop_map(Op::Readuntil),
        (0usize..48).prop_map(Op::Readexactly),
    ]
}

/// Bytes with many separators in them.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![Just(b'\n'), Just(b';'), b'a'..=b'e'], 0..600)
}

/// Splits `data` at the given cut points.
fn chunks(data: &[u8], cuts: &[usize]) -> VecDeque<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = VecDeque::new();
    let mut last = 0;
    for p in points.into_iter().chain([data.len()]) {
        if p > last {
            out.push_back(data[last..p].to_vec());
            last = p;
        }
    }
    out
}

/// Where the earliest-ending separator match ends, searching `rest`.
fn model_find(rest: &[u8], seps: &[Vec<u8>]) -> Option<usize> {
    seps.iter()
        .filter_map(|s| {
            rest.windows(s.len())
                .position(|w| w == s.as_slice())
                .map(|i| i + s.len())
        })
        .min()
}

fn check(data: Vec<u8>, cuts: Vec<usize>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    crate::run(async move {
        let mut reader =
            StreamReader::from_source(Source::Chunks(chunks(&data, &cuts), false), 1 << 20);
        let mut pos = 0;
        let mut seen = Vec::new();
        for op in ops {
            let rest = &data[pos..];
            match op {
                Op::Read(n) => {
                    let got = reader.read(n).await.unwrap();
                    prop_assert!(got.len() <= n);
                    prop_assert_eq!(got.is_empty(), rest.is_empty());
                    prop_assert_eq!(&got[..], &rest[..got.len()]);
                    pos += got.len();
                    seen.extend(got);
                }
                Op::Readexactly(n) => match reader.readexactly(n).await {
                    Ok(got) => {
                        prop_assert_eq!(&got[..], &rest[..n]);
                        pos += n;
                        seen.extend(got);
                    }
                    Err(ReadError::IncompleteRead(e)) => {
                        prop_assert!(rest.len() < n);
                        prop_assert_eq!(&e.partial[..], rest);
                        prop_assert_eq!(e.expected, Some(n));
                        pos = data.len();
                        seen.extend(e.partial);
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                },
                Op::Readline => {
                    let got = reader.readline().await.unwrap();
                    let want = model_find(rest, &[b"\n".to_vec()]).unwrap_or(rest.len());
                    prop_assert_eq!(&got[..], &rest[..want]);
                    pos += want;
                    seen.extend(got);
                }
                Op::Readuntil(seps) => {
                    let refs: Vec<&[u8]> = seps.iter().map(Vec::as_slice).collect();
                    match (reader.readuntil(refs).await, model_find(rest, &seps)) {
                        (Ok(got), Some(end)) => {
                            prop_assert_eq!(&got[..], &rest[..end]);
                            pos += end;
                            seen.extend(got);
                        }
                        (Err(ReadError::IncompleteRead(e)), None) => {
                            prop_assert_eq!(&e.partial[..], rest);
                            prop_assert_eq!(e.expected, None);
                            pos = data.len();
                            seen.extend(e.partial);
                        }
                        (got, want) => {
                            return Err(TestCaseError::fail(format!("{got:?} vs {want:?}")));
                        }
                    }
                }
            }
        }
        seen.extend(reader.read_to_end().await.unwrap());
        prop_assert_eq!(seen, data);
        prop_assert!(reader.at_eof());
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_chunking_reads_back_the_input(
        data in input(),
        cuts in prop::collection::vec(0usize..1000, 0..40),
        ops in prop::collection::vec(op(), 0..40),
    ) {
        check(data, cuts, ops)?;
    }
}
