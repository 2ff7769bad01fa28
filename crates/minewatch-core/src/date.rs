//! Acquisition dates and date pairs. Dates order the inputs and name the pair a patch
//! belongs to, so they must parse strictly: `20180323` or `2018-03-23`, a real calendar day.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date of an image acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AcqDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("`{text}` is not a date: expected YYYYMMDD or YYYY-MM-DD with a real month and day")]
pub struct DateError {
    pub text: String,
}

impl AcqDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=days).contains(&day) && (1950..=2200).contains(&year)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// Parse `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY:MM:DD` (TIFF metadata style,
    /// optionally followed by a time that is ignored).
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let err = || DateError {
            text: text.to_string(),
        };
        let t = text.trim();
        let digits: String = t.chars().take(10).filter(|c| c.is_ascii_digit()).collect();
        let head: String = t.chars().take(10).collect();
        let ok_shape = if t.len() >= 10 && matches!(head.as_bytes()[4], b'-' | b'/' | b':') {
            head.as_bytes()[7] == head.as_bytes()[4] && digits.len() == 8
        } else {
            t.len() == 8 && digits.len() == 8
        };
        if !ok_shape {
            return Err(err());
        }
        let y: u16 = digits[0..4].parse().map_err(|_| err())?;
        let m: u8 = digits[4..6].parse().map_err(|_| err())?;
        let d: u8 = digits[6..8].parse().map_err(|_| err())?;
        Self::new(y, m, d).ok_or_else(err)
    }

    /// Dates as people type them in tables: the strict forms, and also `2024/6/1`,
    /// `2024.6.1`, `2024-6-1` (Excel exports), with an optional time after a space or `T`.
    pub fn parse_lenient(text: &str) -> Result<Self, DateError> {
        if let Ok(d) = Self::parse(text) {
            return Ok(d);
        }
        let err = || DateError {
            text: text.to_string(),
        };
        let head = text.trim().split([' ', 'T']).next().unwrap_or("");
        let parts: Vec<&str> = head.split(['-', '/', '.']).collect();
        if parts.len() != 3
            || parts[0].len() != 4
            || parts[1].is_empty()
            || parts[1].len() > 2
            || parts[2].is_empty()
            || parts[2].len() > 2
        {
            return Err(err());
        }
        let y: u16 = parts[0].parse().map_err(|_| err())?;
        let m: u8 = parts[1].parse().map_err(|_| err())?;
        let d: u8 = parts[2].parse().map_err(|_| err())?;
        Self::new(y, m, d).ok_or_else(err)
    }

    /// Find a `YYYYMMDD` run of exactly eight digits in a file name that is a real date.
    /// Longer digit runs (tile numbers, timestamps) are not taken apart, to avoid guessing.
    pub fn find_in_name(name: &str) -> Option<Self> {
        let bytes = name.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i - start == 8 {
                    if let Ok(d) = Self::parse(&name[start..i]) {
                        return Some(d);
                    }
                }
            } else {
                i += 1;
            }
        }
        None
    }

    /// `YYYYMMDD`, used inside ids.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for AcqDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The two dates a change was detected between, earlier first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DatePair {
    pub before: AcqDate,
    pub after: AcqDate,
}

impl DatePair {
    /// `20160927_20180323`: the pair's part of every patch id.
    pub fn key(&self) -> String {
        format!("{}_{}", self.before.compact(), self.after.compact())
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::AcqDate;

    #[test]
    fn excel_style_dates() {
        let d = AcqDate::new(2024, 6, 1).unwrap();
        for t in [
            "2024/6/1",
            "2024.06.01",
            "2024-6-1 00:00:00",
            "2024-06-01T08:00",
            "20240601",
        ] {
            assert_eq!(AcqDate::parse_lenient(t), Ok(d), "{t}");
        }
        for t in ["2024/13/1", "24/6/1", "2024/6", "June 1"] {
            assert!(AcqDate::parse_lenient(t).is_err(), "{t}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_seen_in_files() {
        let d = AcqDate::new(2018, 3, 23).unwrap();
        assert_eq!(AcqDate::parse("20180323"), Ok(d));
        assert_eq!(AcqDate::parse("2018-03-23"), Ok(d));
        assert_eq!(AcqDate::parse("2018:03:23 10:31:00"), Ok(d));
        assert!(AcqDate::parse("2018-13-01").is_err());
        assert!(AcqDate::parse("20190229").is_err());
        assert!(AcqDate::parse("2020-02-29").is_ok());
        assert!(AcqDate::parse("2018-0323").is_err());
    }

    #[test]
    fn finds_dates_in_names_but_not_in_longer_numbers() {
        assert_eq!(
            AcqDate::find_in_name("nanjing_L5TM_20000503.tif"),
            AcqDate::new(2000, 5, 3)
        );
        assert_eq!(AcqDate::find_in_name("scene_201803231030.tif"), None);
        assert_eq!(AcqDate::find_in_name("t1_deflate.tif"), None);
        assert_eq!(
            AcqDate::find_in_name("x_99999999_20200101.tif"),
            AcqDate::new(2020, 1, 1)
        );
    }

    #[test]
    fn pair_key_is_compact() {
        let p = DatePair {
            before: AcqDate::new(2016, 9, 27).unwrap(),
            after: AcqDate::new(2018, 3, 23).unwrap(),
        };
        assert_eq!(p.key(), "20160927_20180323");
    }
}
