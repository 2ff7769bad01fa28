//! Mineral names as the policy compares them: whole names, never substrings (金 is not in
//! 有色金属, 锡 not in 锡林郭勒). A right's mineral field may list several (钨、钼); a name may
//! carry the word for ore (钨矿, 铁矿石, tin ore); English names map to Chinese through
//! [`ALIASES`]. Nothing else is guessed: an unlisted compound such as 钨钼 names no mineral
//! of the list.

/// English (and a few colloquial) names → the Chinese name the policy and price tables use.
pub const ALIASES: &[(&str, &str)] = &[
    ("rare earth", "稀土"),
    ("rare earths", "稀土"),
    ("ree", "稀土"),
    ("tungsten", "钨"),
    ("tin", "锡"),
    ("antimony", "锑"),
    ("molybdenum", "钼"),
    ("fluorite", "萤石"),
    ("fluorspar", "萤石"),
    ("gold", "金"),
    ("silver", "银"),
    ("copper", "铜"),
    ("iron", "铁"),
    ("lead", "铅"),
    ("zinc", "锌"),
    ("lithium", "锂"),
    ("graphite", "石墨"),
    ("coal", "煤"),
    ("煤炭", "煤"),
    // Register names of the focus minerals' deposit types: whole names, so listed here
    // rather than found by substring (which made 金 match 有色金属).
    ("离子型稀土", "稀土"),
    ("离子吸附型稀土", "稀土"),
    ("轻稀土", "稀土"),
    ("重稀土", "稀土"),
    ("中重稀土", "稀土"),
    ("岩金", "金"),
    ("砂金", "金"),
    ("伴生金", "金"),
    ("黑钨", "钨"),
    ("白钨", "钨"),
    ("锡石", "锡"),
    ("褐煤", "煤"),
    ("无烟煤", "煤"),
    ("烟煤", "煤"),
];

/// Separators between names in one field.
const SEPARATORS: &[char] = &['、', ',', '，', ';', '；', '/', '|'];

/// The canonical form of one name: trimmed, lower case, without the word for ore, through
/// the alias list.
pub fn canonical(name: &str) -> String {
    let mut n = name.trim().to_lowercase();
    for suffix in ["矿石", "矿", " ore"] {
        if let Some(stem) = n.strip_suffix(suffix).filter(|s| !s.trim().is_empty()) {
            n = stem.trim_end().to_string();
            break;
        }
    }
    match ALIASES.iter().find(|(a, _)| *a == n) {
        Some((_, zh)) => zh.to_string(),
        None => n,
    }
}

/// The canonical names a field holds (one or several, split on 、 , ; / |).
pub fn names_in(field: &str) -> Vec<String> {
    field
        .split(SEPARATORS)
        .map(canonical)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Does any of `fields` name `mineral`?
pub fn named(mineral: &str, fields: &[String]) -> bool {
    let m = canonical(mineral);
    !m.is_empty() && fields.iter().any(|f| names_in(f).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_only() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!named("金", &f(&["有色金属"])));
        assert!(!named("锡", &f(&["锡林郭勒"])));
        assert!(named("金", &f(&["铜矿、金矿"])));
        assert!(named("铁", &f(&["铁矿石"])));
        assert!(named("Rare Earth", &f(&["稀土"])));
        assert!(named("锡", &f(&["Tin ore"])));
        assert!(named("煤", &f(&["煤炭"])));
        // Deposit-type names of the focus minerals, as licence registers write them.
        assert!(named("稀土", &f(&["离子型稀土矿"])));
        assert!(named("金", &f(&["岩金"])));
        assert!(named("钨", &f(&["黑钨矿、白钨矿"])));
        assert!(named("煤", &f(&["无烟煤"])));
        // The bare word for ore is a name of its own, not an empty one.
        assert_eq!(canonical("矿"), "矿");
        assert!(!named("", &f(&[""])));
    }
}
