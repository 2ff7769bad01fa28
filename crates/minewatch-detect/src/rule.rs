//! The explicit change rule: conditions on per-pixel variables, all of which must hold.
//! Written as text (`"ndvi_drop >= 0.2"`) so a params file reads like the method section
//! of a report, and parsed strictly so a typo is an error, not a silently empty result.

use crate::index::Var;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
}

impl Op {
    fn symbol(&self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        }
    }
}

/// `var op threshold`; the threshold is an f32 like the variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub var: Var,
    pub op: Op,
    pub value: f32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("rule condition `{0}`: expected `<variable> <op> <number>` with op one of >= > <= <, e.g. `ndvi_drop >= 0.2`")]
    Syntax(String),
    #[error("rule condition `{cond}`: unknown variable `{var}`; known: <index>_drop, <index>_rise, <index>_t1/_t2 for index ndvi bsi mndwi ndwi brightness, and <band>_t1/_t2 for band blue green red nir swir1 swir2")]
    UnknownVar { cond: String, var: String },
    #[error("the change rule is empty: give at least one condition")]
    Empty,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let t = text.trim();
        let (pos, op, len) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .iter()
            .find_map(|(s, op)| t.find(s).map(|p| (p, *op, s.len())))
            .ok_or_else(|| RuleError::Syntax(t.to_string()))?;
        let var_text = t[..pos].trim();
        let value: f32 = t[pos + len..]
            .trim()
            .parse()
            .map_err(|_| RuleError::Syntax(t.to_string()))?;
        if !value.is_finite() {
            return Err(RuleError::Syntax(t.to_string()));
        }
        let var = Var::parse(var_text).ok_or_else(|| RuleError::UnknownVar {
            cond: t.to_string(),
            var: var_text.to_string(),
        })?;
        Ok(Self { var, op, value })
    }

    #[inline]
    pub fn holds(&self, x: f32) -> bool {
        match self.op {
            Op::Ge => x >= self.value,
            Op::Gt => x > self.value,
            Op::Le => x <= self.value,
            Op::Lt => x < self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.var, self.op.symbol(), self.value)
    }
}

/// All conditions must hold (NaN never holds, so 0/0 indices never flag change).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub all: Vec<Condition>,
}

impl Rule {
    pub fn parse<S: AsRef<str>>(conditions: &[S]) -> Result<Self, RuleError> {
        if conditions.is_empty() {
            return Err(RuleError::Empty);
        }
        let all = conditions
            .iter()
            .map(|c| Condition::parse(c.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { all })
    }

    /// The reference rule both peers implement (`../shared/peers/README.md`).
    pub fn peer_reference() -> Self {
        Self::parse(&["ndvi_drop >= 0.2", "bsi_rise >= 0.1", "blue_t2 < 2500"]).expect("valid rule")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let r = Rule::peer_reference();
        let s: Vec<String> = r.all.iter().map(|c| c.to_string()).collect();
        assert_eq!(s, ["ndvi_drop >= 0.2", "bsi_rise >= 0.1", "blue_t2 < 2500"]);
        assert_eq!(r.all[0].value, 0.2f32);
    }

    #[test]
    fn rejects_typos() {
        assert!(matches!(
            Condition::parse("ndvi_drp >= 0.2"),
            Err(RuleError::UnknownVar { .. })
        ));
        assert!(matches!(
            Condition::parse("ndvi_drop = 0.2"),
            Err(RuleError::Syntax(_))
        ));
        assert!(matches!(
            Condition::parse("ndvi_drop >= x"),
            Err(RuleError::Syntax(_))
        ));
        assert_eq!(Rule::parse::<&str>(&[]), Err(RuleError::Empty));
    }

    #[test]
    fn nan_never_holds() {
        let c = Condition::parse("ndvi_drop < 0.2").unwrap();
        assert!(!c.holds(f32::NAN));
        assert!(c.holds(0.1));
    }
}
