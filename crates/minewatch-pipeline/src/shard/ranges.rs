//! Compact index ranges (`0-3,7,9-12`), the form `sbatch --array=` takes.

/// Sorted, de-duplicated indices as ranges; empty input gives an empty string.
pub fn compact(indices: &[usize]) -> String {
    let mut v = indices.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            i += 1;
            end = v[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `0-3,7` back into indices: the inverse the Slurm array syntax implies.
    pub fn expand(s: &str) -> Result<Vec<usize>, String> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("`{part}` is not an index or a range like 3-7");
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (usize, usize) = (
                        a.trim().parse().map_err(|_| bad())?,
                        b.trim().parse().map_err(|_| bad())?,
                    );
                    if b < a {
                        return Err(bad());
                    }
                    v.extend(a..=b);
                }
                None => v.push(part.parse().map_err(|_| bad())?),
            }
        }
        Ok(v)
    }

    #[test]
    fn compacts_runs_and_singletons() {
        assert_eq!(compact(&[]), "");
        assert_eq!(compact(&[5]), "5");
        assert_eq!(compact(&[3, 0, 1, 2, 7, 9, 10, 11, 12, 7]), "0-3,7,9-12");
        assert_eq!(compact(&[1, 3, 5]), "1,3,5");
    }

    #[test]
    fn expand_inverts_compact() {
        let v = vec![0, 1, 2, 3, 7, 9, 10, 11, 12];
        assert_eq!(expand(&compact(&v)).unwrap(), v);
        assert!(expand("4-2").is_err());
        assert!(expand("x").is_err());
    }
}
