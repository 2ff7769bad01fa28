//! The words and file names a county package shows its readers: the 一张图's subtitle and
//! legend, the Chinese values of the form's coded columns, and chip file names that every
//! system (and a zip opened on Windows) accepts whatever a site id holds.

use minewatch_core::{LicenceStatus, ZoneKind};

/// The 一张图's subtitle: how many tasks, and how many are suspected illegal — a count only
/// where the licences were screened. A task of `licence_status` not_checked is neither
/// illegal nor legal: "其中疑似违法 0 个" over unscreened tasks reads as "none illegal"
/// (a review found it so on the demo's map).
pub(crate) fn subtitle(
    name: &str,
    code: &str,
    tasks: usize,
    suspected: usize,
    not_checked: usize,
) -> String {
    let head = format!("{name}（行政区划代码 {code}）  核查图斑 {tasks} 个，");
    match not_checked {
        0 => format!("{head}其中疑似违法 {suspected} 个"),
        n if n == tasks => format!("{head}均未核对矿权（是否疑似违法未判定）"),
        n => format!("{head}疑似违法 {suspected} 个，未核对矿权 {n} 个"),
    }
}

/// The 一张图's legend, naming the rank its numbers are: a province's (or prefecture's)
/// folder holds sites without a county, numbered by their rank in that division, not a
/// county's (`level` is the rank column the folder is ordered by).
pub(crate) fn legend(level: &str) -> String {
    let within = match level {
        "rank_province" => "省内",
        "rank_prefecture" => "市内",
        _ => "县内",
    };
    format!("图例：■ 核查图斑（数字为{within}优先序号；灰色为暂不排序）")
}

/// The Chinese value of a coded column of the county form (`tasks.csv`, headers in
/// Chinese) and page; `None` for other columns, whose values are shown as they are.
/// The GeoPackage and GeoJSON keep the codes: programs read those back.
pub(crate) fn value_zh(column: &str, value: &str) -> Option<String> {
    Some(match column {
        "priority_class" => match value {
            "high" => "高",
            "medium" => "中",
            "low" => "低",
            other => other,
        }
        .to_string(),
        "licence_status" => LicenceStatus::ALL
            .iter()
            .find(|s| s.name() == value)
            .map_or(value, |s| s.label_zh())
            .to_string(),
        "last_change_type" => minewatch_policy::score::change_type_zh(value).to_string(),
        "last_confidence" => minewatch_policy::score::confidence_zh(value).to_string(),
        // 压占区域类别 lists the zones a site occupies; a mining or exploration right is
        // no such zone (矿权状态 says where the site stands against the licences).
        "zone_kinds" => value
            .split(';')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .filter_map(|k| {
                let kind = match k.strip_prefix("custom:") {
                    Some(w) => return Some(format!("自定义图层（{w}）")),
                    None => ZoneKind::parse(k, None).ok(),
                };
                match kind {
                    Some(ZoneKind::MiningRight | ZoneKind::ExplorationRight) => None,
                    Some(kind) => Some(kind.label_zh().to_string()),
                    None => Some(k.to_string()),
                }
            })
            .collect::<Vec<_>>()
            .join("；"),
        _ => return None,
    })
}

/// A site id as part of a file name: characters that are not letters or digits (in any
/// script), `-`, `_` or `.` become `_` — `/` and `\` would make folders, and `: * ? " < > |`
/// names Windows cannot extract from the county's zip, `#` and `%` break the page's links —
/// and it is cut to 60 characters. The file name's task number keeps names unique; the
/// page shows the id itself.
pub(crate) fn file_safe(site: &str) -> String {
    site.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review revZ2 F3: unscreened tasks are never counted as "0 suspected illegal".
    #[test]
    fn the_map_does_not_call_unscreened_tasks_legal() {
        let all = subtitle("江苏省", "320000", 91, 0, 91);
        assert!(!all.contains("疑似违法 0"), "{all}");
        assert!(all.contains("未核对矿权"), "{all}");
        let some = subtitle("江宁区", "320115", 10, 2, 4);
        assert!(
            some.contains("疑似违法 2 个") && some.contains("未核对矿权 4 个"),
            "{some}"
        );
        let screened = subtitle("江宁区", "320115", 10, 0, 0);
        assert!(screened.ends_with("其中疑似违法 0 个"), "{screened}");
    }

    /// Review revZ3 F5: a province's folder is numbered by province rank, and says so.
    #[test]
    fn the_legend_names_the_rank_it_numbers_by() {
        assert!(legend("rank_province").contains("省内优先序号"));
        assert!(legend("rank_county").contains("县内优先序号"));
        assert!(!legend("rank_province").contains("县内"));
    }

    /// Review revZ2 F7: the county form shows Chinese values, and no licence as a zone.
    #[test]
    fn coded_values_are_chinese_on_the_form() {
        for (column, code, zh) in [
            ("licence_status", "not_checked", "未核对矿权"),
            ("licence_status", "outside_all_rights", "无证"),
            ("priority_class", "high", "高"),
            ("last_change_type", "water_gain", "水体增加"),
            ("last_confidence", "highest", "最高"),
            ("zone_kinds", "mining_right;river_corridor", "江河干流廊道"),
            (
                "zone_kinds",
                "ecological_red_line;custom:farmland",
                "生态保护红线；自定义图层（farmland）",
            ),
        ] {
            assert_eq!(
                value_zh(column, code).as_deref(),
                Some(zh),
                "{column} {code}"
            );
        }
        assert_eq!(value_zh("score", "146"), None);
    }

    /// Review revZ2 F5: ids with path or Windows-forbidden characters give plain names.
    #[test]
    fn site_ids_make_safe_file_names() {
        assert_eq!(file_safe("2023/001"), "2023_001");
        assert_eq!(file_safe("STB*001?"), "STB_001_");
        assert_eq!(file_safe("Sx\\003"), "Sx_003");
        assert_eq!(file_safe("a\"b<1>:|#%"), "a_b_1_____");
        assert_eq!(file_safe("图斑-01.a"), "图斑-01.a");
        assert_eq!(
            file_safe("S20000503_20020712_r0c57"),
            "S20000503_20020712_r0c57"
        );
        assert_eq!(file_safe(&"x".repeat(100)).len(), 60);
    }
}
