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

/// Whether month `month` of `year` has a day `day` (leap years counted; any year).
pub fn is_calendar_day(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

impl AcqDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        (is_calendar_day(year.into(), month.into(), day.into()) && (1950..=2200).contains(&year))
            .then_some(Self { year, month, day })
    }

    /// The calendar day `days` after 1970-01-01 (H. Hinnant's civil_from_days); `None`
    /// outside the years an `AcqDate` holds.
    pub fn from_unix_days(days: i64) -> Option<Self> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let y = yoe + era * 400 + i64::from(m <= 2);
        Self::new(u16::try_from(y).ok()?, m, d)
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
    /// `2024.6.1`, `2024-6-1` (Excel exports), `2024年6月1日`, and any of these in
    /// full-width characters (`２０２４－０６－０１`, as a Chinese input method types them),
    /// with an optional time after a space or `T`.
    pub fn parse_lenient(text: &str) -> Result<Self, DateError> {
        if let Ok(d) = Self::parse(text) {
            return Ok(d);
        }
        let err = || DateError {
            text: text.to_string(),
        };
        let normal = Self::normalise(text);
        if let Ok(d) = Self::parse(&normal) {
            return Ok(d);
        }
        let head = normal.split([' ', 'T']).next().unwrap_or("");
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

    /// A typed date in the forms [`AcqDate::parse_lenient`] reads: full-width characters
    /// (U+FF01–FF5E, the ideographic space) as ASCII, and `2024年6月1日` (or `2024年6月1`)
    /// as `2024-6-1`.
    pub fn normalise(text: &str) -> String {
        let t: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                '\u{3000}' => ' ',
                _ => c,
            })
            .collect();
        let t = t.trim();
        // 日 is often left off in a typed cell (`1995年1月1`): the date ends at 日 or at
        // the time after it, as for the other forms.
        let (ymd, rest) = match t.split_once('日') {
            Some((ymd, rest)) => (ymd, rest),
            None => t.split_at(t.find([' ', 'T']).unwrap_or(t.len())),
        };
        if ymd.contains('年') && ymd.contains('月') {
            format!("{}{rest}", ymd.replace(['年', '月'], "-"))
        } else {
            t.to_string()
        }
    }

    /// A cell of a column that holds dates: [`AcqDate::parse_lenient`]'s forms, or the
    /// serial number Excel saves a date cell as (46086 is 2026-03-05).
    pub fn parse_cell(text: &str) -> Result<Self, DateError> {
        Self::parse_lenient(text).or_else(|e| Self::from_excel_serial(text).ok_or(e))
    }

    /// The day an Excel date serial stands for (days since 1899-12-30: a date cell saved
    /// as a number), when `text` is a whole number of 5 digits (1950-01-01 is 18264) that
    /// falls in the years an `AcqDate` holds. Only for a column that holds dates: any
    /// five-digit number reads so.
    pub fn from_excel_serial(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_suffix(".0").unwrap_or(t);
        if t.len() != 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: i64 = t.parse().ok()?;
        // 1899-12-30 is 25569 days before 1970-01-01.
        Self::from_unix_days(n - 25_569)
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

    /// Runs of exactly eight digits in a file name that are not dates (`scene_20001303`:
    /// month 13), in order: a name meant to carry the date but mistyped, which the user
    /// should see quoted when no date is found.
    pub fn non_dates_in_name(name: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = name;
        while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
            let run = &rest[start..];
            let len = run.find(|c: char| !c.is_ascii_digit()).unwrap_or(run.len());
            if len == 8 && Self::parse(&run[..8]).is_err() {
                found.push(run[..8].to_string());
            }
            rest = &run[len..];
        }
        found
    }

    /// Dates written `YYYY_MMDD` or `YYYY-MMDD` in a file name (`mosaic_2003_0512_v…`):
    /// a date like any other, so that a `YYYYMMDD` version stamp beside one makes the
    /// name ambiguous instead of dating the image.
    fn split_in_name(name: &str) -> Vec<Self> {
        let b = name.as_bytes();
        let digit_run = |i: usize, n: usize| {
            b.len() >= i + n
                && b[i..i + n].iter().all(u8::is_ascii_digit)
                && (i == 0 || !b[i - 1].is_ascii_digit())
        };
        let mut found = Vec::new();
        for i in 0..b.len().saturating_sub(8) {
            if digit_run(i, 4)
                && matches!(b[i + 4], b'_' | b'-')
                && digit_run(i + 5, 4)
                && b.get(i + 9).is_none_or(|c| !c.is_ascii_digit())
            {
                let text = format!("{}{}", &name[i..i + 4], &name[i + 5..i + 9]);
                if let Ok(d) = Self::parse(&text) {
                    if !found.contains(&d) {
                        found.push(d);
                    }
                }
            }
        }
        found
    }

    /// Every distinct date in a file name (`YYYYMMDD`, and `YYYY_MMDD` alongside them),
    /// in order of appearance.
    pub fn all_in_name(name: &str) -> Vec<Self> {
        let mut dates = Self::split_in_name(name);
        let mut rest = name;
        while let Some(d) = Self::find_in_name(rest) {
            if !dates.contains(&d) {
                dates.push(d);
            }
            let at = rest.find(&d.compact()).map_or(rest.len(), |i| i + 8);
            rest = &rest[at..];
        }
        dates
    }

    /// The acquisition date a file name gives: its only date, or the first of a Landsat
    /// Collection product id (`LC08_L1TP_119038_20200101_20200113_02_T1`: acquired, then
    /// processed) or a Sentinel-2 product name (`S2A_MSIL2A_20180323T025541_…_20180323T070339`:
    /// sensed, then the product's discriminator). `Err` with the dates when the name holds
    /// several and says nothing of which is which (`mosaic_v20240301_js_20000503`): taking
    /// the first could compare a pair backwards.
    pub fn from_name(name: &str) -> Result<Option<Self>, Vec<Self>> {
        let dates = Self::all_in_name(name);
        let upper = name.to_ascii_uppercase();
        let b = upper.as_bytes();
        let landsat = b.len() > 5
            && b[0] == b'L'
            && b"COTEM".contains(&b[1])
            && b[2] == b'0'
            && b[3].is_ascii_digit()
            && b[4] == b'_';
        let sentinel2 = upper.starts_with("S2") && upper.get(4..7) == Some("MSI");
        match dates.len() {
            0 => Ok(None),
            1 => Ok(Some(dates[0])),
            _ if landsat || sentinel2 => Ok(Some(dates[0])),
            _ => Err(dates),
        }
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

    /// Review U F6: 年月日 and full-width digits are dates as typed in Chinese forms; an
    /// Excel serial only where asked for (a date column), five digits, 1950 on.
    #[test]
    fn chinese_full_width_and_excel_serial_dates() {
        let d = AcqDate::new(2026, 3, 5);
        for t in [
            "2026年3月5日",
            "2026年03月05日",
            "２０２６－０３－０５",
            "２０２６年３月５日",
            "2026年3月5日 10:00",
        ] {
            assert_eq!(AcqDate::parse_lenient(t).ok(), d, "{t}");
        }
        assert!(AcqDate::parse_lenient("2026年2月30日").is_err());
        // 日 left off, as typed in Excel (read before `parse_cell`, and again now).
        let jan1 = AcqDate::new(1995, 1, 1);
        for t in [
            "1995年1月1",
            "1995年01月01",
            "１９９５年１月１",
            "1995年1月1 08:00",
        ] {
            assert_eq!(AcqDate::parse_lenient(t).ok(), jan1, "{t}");
            assert_eq!(AcqDate::parse_cell(t).ok(), jan1, "{t}");
        }
        for t in [
            "1995年1月",
            "1995年1月1号",
            "1995年13月1",
            "1995年1月1x",
            "95年1月1",
            "年月",
        ] {
            assert!(AcqDate::parse_cell(t).is_err(), "{t}");
        }
        assert!(AcqDate::parse_lenient("46086").is_err());
        assert_eq!(AcqDate::from_excel_serial("46086"), d);
        assert_eq!(AcqDate::from_excel_serial("46086.0"), d);
        assert_eq!(
            AcqDate::from_excel_serial("18264"),
            AcqDate::new(1950, 1, 1)
        );
        for t in ["18263", "1234", "460860", "4608a", "2026-03-05"] {
            assert_eq!(AcqDate::from_excel_serial(t), None, "{t}");
        }
    }

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
    #[test]
    fn days_since_the_epoch_to_dates() {
        let d = |y, m, dd| AcqDate::new(y, m, dd);
        assert_eq!(AcqDate::from_unix_days(0), d(1970, 1, 1));
        assert_eq!(AcqDate::from_unix_days(11_016), d(2000, 2, 29));
        assert_eq!(AcqDate::from_unix_days(20_423), d(2025, 12, 1));
        assert_eq!(AcqDate::from_unix_days(-7_305), d(1950, 1, 1));
        assert_eq!(AcqDate::from_unix_days(-7_306), None);
    }

    use super::*;

    /// Review, session 19: a `YYYY_MMDD` acquisition beside a `YYYYMMDD` version stamp.
    #[test]
    fn a_split_date_beside_a_stamp_is_ambiguous() {
        let both = AcqDate::from_name("jiangsu_mosaic_2003_0512_v20240315.tif");
        assert_eq!(
            both,
            Err(vec![
                AcqDate::new(2003, 5, 12).unwrap(),
                AcqDate::new(2024, 3, 15).unwrap()
            ])
        );
        assert_eq!(
            AcqDate::from_name("mosaic_2003_0512.tif"),
            Ok(AcqDate::new(2003, 5, 12))
        );
        // Not a split date: part of a longer run, or not a calendar day.
        assert_eq!(AcqDate::all_in_name("tile_12003_0512_x.tif"), vec![]);
        assert_eq!(AcqDate::all_in_name("run_2003_1399.tif"), vec![]);
    }

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
    fn eight_digits_that_are_no_date_are_quoted() {
        assert_eq!(AcqDate::find_in_name("scene_20001303.tif"), None);
        assert_eq!(
            AcqDate::non_dates_in_name("scene_20001303_x20000230.tif"),
            vec!["20001303".to_string(), "20000230".to_string()]
        );
        // Dates, longer runs and shorter ones are not quoted.
        assert!(AcqDate::non_dates_in_name("s_20000503_123456789_1234.tif").is_empty());
    }

    #[test]
    fn finds_dates_in_names_but_not_in_longer_numbers() {
        assert_eq!(
            AcqDate::find_in_name("nanjing_L5TM_20000503.tif"),
            AcqDate::new(2000, 5, 3)
        );
        assert_eq!(AcqDate::find_in_name("scene_201803231030.tif"), None);
        assert_eq!(AcqDate::find_in_name("t1_deflate.tif"), None);
        let d = |s: &str| AcqDate::parse(s).unwrap();
        // Product names with a second (processing) date give the acquisition date.
        assert_eq!(
            AcqDate::from_name("LC08_L1TP_119038_20200101_20200113_02_T1_SR_B4.TIF"),
            Ok(Some(d("2020-01-01")))
        );
        assert_eq!(
            AcqDate::from_name("LT05_L2SP_120038_20000503_20200907_02_T1.tif"),
            Ok(Some(d("2000-05-03")))
        );
        assert_eq!(
            AcqDate::from_name("S2A_MSIL2A_20180323T025541_N0206_R032_T49QHE_20180323T070339.tif"),
            Ok(Some(d("2018-03-23")))
        );
        // One date, said twice, is one date.
        assert_eq!(
            AcqDate::from_name("x_20200101_20200101.tif"),
            Ok(Some(d("2020-01-01")))
        );
        // Two dates and no convention: which one was acquired is not guessed.
        assert_eq!(
            AcqDate::from_name("mosaic_v20240301_js_20000503.tif"),
            Err(vec![d("2024-03-01"), d("2000-05-03")])
        );
        assert_eq!(AcqDate::from_name("t1_deflate.tif"), Ok(None));
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
