//! GB/T 2260 code tables (province, prefecture, county names by code), as published by the
//! NBS and packaged in `admin-codes/`: `provinces.csv` (code, name), `cities.csv` (code,
//! name, provinceCode), `areas.csv` (code, name, cityCode, provinceCode). They fill the
//! names and parent divisions a polygon layer does not carry.

use crate::error::ZonesError;
use crate::text_table::decode_text;
use minewatch_core::AdminPlace;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct AdminCodes {
    /// Six-digit code → name, for all three levels.
    names: BTreeMap<String, String>,
}

impl AdminCodes {
    pub fn load(dir: &Path) -> Result<Self, ZonesError> {
        let mut names = BTreeMap::new();
        for (file, digits) in [("provinces.csv", 2), ("cities.csv", 4), ("areas.csv", 6)] {
            let path = dir.join(file);
            let err = |msg: String| ZonesError::AdminCodes {
                path: path.clone(),
                msg,
            };
            let bytes = std::fs::read(&path)
                .map_err(|e| err(format!("cannot read it: {e}; `admin_codes` must name the folder holding provinces.csv, cities.csv and areas.csv")))?;
            let text = decode_text(&bytes);
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let h = r.headers().map_err(|e| err(e.to_string()))?.clone();
            let col = |n: &str| {
                h.iter()
                    .position(|x| x.trim() == n)
                    .ok_or_else(|| err(format!("no `{n}` column")))
            };
            let (ci, ni) = (col("code")?, col("name")?);
            for (row, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| err(format!("row {}: {e}", row + 2)))?;
                let code = rec.get(ci).unwrap_or("").trim();
                if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(format!(
                        "row {}: code `{code}` should have {digits} digits",
                        row + 2
                    )));
                }
                let six = format!("{code:0<6}");
                names.insert(six, rec.get(ni).unwrap_or("").trim().to_string());
            }
        }
        Ok(Self { names })
    }

    pub fn name(&self, code6: &str) -> Option<&str> {
        self.names.get(code6).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Fill missing parents and names of `place` from the most detailed code it has.
    pub fn complete(&self, place: &mut AdminPlace) {
        let finest = place
            .county_code
            .clone()
            .or_else(|| place.prefecture_code.clone())
            .or_else(|| place.province_code.clone());
        let Some(code) = finest else { return };
        if code.len() != 6 {
            return;
        }
        if place.province_code.is_none() {
            place.province_code = Some(format!("{}0000", &code[..2]));
        }
        if place.prefecture_code.is_none() && place.county_code.is_some() {
            place.prefecture_code = Some(format!("{}00", &code[..4]));
        }
        let fill = |c: &Option<String>, n: &mut Option<String>| {
            if n.as_deref().is_none_or(str::is_empty) {
                if let Some(name) = c.as_deref().and_then(|c| self.name(c)) {
                    *n = Some(name.to_string());
                }
            }
        };
        fill(&place.province_code, &mut place.province_name);
        fill(&place.prefecture_code, &mut place.prefecture_name);
        fill(&place.county_code, &mut place.county_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path) {
        std::fs::write(dir.join("provinces.csv"), "code,name\n32,\"江苏省\"\n").unwrap();
        std::fs::write(
            dir.join("cities.csv"),
            "code,name,provinceCode\n3201,\"南京市\",32\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("areas.csv"),
            "code,name,cityCode,provinceCode\n320115,\"江宁区\",3201,32\n",
        )
        .unwrap();
    }

    #[test]
    fn county_code_fills_parents_and_names() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        let t = AdminCodes::load(d.path()).unwrap();
        assert_eq!(t.len(), 3);
        let mut p = AdminPlace {
            county_code: Some("320115".into()),
            ..Default::default()
        };
        t.complete(&mut p);
        assert_eq!(p.province_code.as_deref(), Some("320000"));
        assert_eq!(p.province_name.as_deref(), Some("江苏省"));
        assert_eq!(p.prefecture_code.as_deref(), Some("320100"));
        assert_eq!(p.prefecture_name.as_deref(), Some("南京市"));
        assert_eq!(p.county_name.as_deref(), Some("江宁区"));
    }

    #[test]
    fn a_bad_table_names_file_and_row() {
        let d = tempfile::tempdir().unwrap();
        write(d.path());
        std::fs::write(d.path().join("cities.csv"), "code,name\n3201,a\n32x,b\n").unwrap();
        let e = AdminCodes::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("cities.csv") && e.contains("row 3"), "{e}");
    }
}
