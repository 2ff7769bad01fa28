//! Run-length rows: the unit every streaming sweep works on. A row of a binary mask
//! becomes alternating runs of 0 and 1 that cover it, so connectivity and adjacency are
//! decided per run instead of per pixel.

/// `[start, end)` pixels of one value in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: u32,
    pub end: u32,
    pub value: u8,
}

/// Encode a 0/1 row into alternating runs covering the whole row (any non-zero is 1).
pub fn encode_row(row: &[u8], out: &mut Vec<Run>) {
    out.clear();
    let n = row.len();
    let mut i = 0;
    while i < n {
        let value = (row[i] != 0) as u8;
        let start = i;
        i += 1;
        if value == 0 {
            // Most of a change mask is 0: skip it eight bytes at a time.
            while i + 8 <= n && u64::from_ne_bytes(row[i..i + 8].try_into().unwrap()) == 0 {
                i += 8;
            }
        }
        while i < n && ((row[i] != 0) as u8) == value {
            i += 1;
        }
        out.push(Run {
            start: start as u32,
            end: i as u32,
            value,
        });
    }
}

/// Labelled runs `(run, label)` of the previous row: indices `j` of runs in `prev` that are 8-adjacent to the pixel range `[a, b)` of the
/// next row: `prev[j].start <= b && prev[j].end >= a`. `from` is where to start looking;
/// returns the first index that can still matter for a later (further right) range.
#[inline]
pub fn first_candidate(prev: &[(Run, u32)], from: usize, a: u32) -> usize {
    let mut j = from;
    while j < prev.len() && prev[j].0.end < a {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(row: &[u8]) -> Vec<Run> {
        let mut out: Vec<Run> = Vec::new();
        for (i, &v) in row.iter().enumerate() {
            let v = (v != 0) as u8;
            match out.last_mut() {
                Some(r) if r.value == v => r.end = i as u32 + 1,
                _ => out.push(Run {
                    start: i as u32,
                    end: i as u32 + 1,
                    value: v,
                }),
            }
        }
        out
    }

    #[test]
    fn encodes_like_the_naive_scan() {
        let mut out = Vec::new();
        let rows: Vec<Vec<u8>> = vec![
            vec![0; 37],
            vec![1; 9],
            vec![
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
            ],
            vec![1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0],
            vec![0],
        ];
        for r in rows {
            encode_row(&r, &mut out);
            assert_eq!(out, naive(&r), "row {r:?}");
        }
    }
}
