pub mod audit;
pub mod detect;
pub mod eval;
pub mod overlay;
pub mod package;
pub mod rank;
pub mod run;
pub mod sample;
pub mod shard;

/// `--dates` as typed (YYYYMMDD or YYYY-MM-DD), parsed; the message names the flag.
pub fn parse_dates(
    given: Option<Vec<String>>,
) -> Result<Option<Vec<minewatch_core::AcqDate>>, String> {
    given
        .map(|ds| {
            ds.iter()
                .map(|d| minewatch_core::AcqDate::parse(d).map_err(|e| format!("--dates: {e}")))
                .collect()
        })
        .transpose()
}

/// A count that must be at least 1 (`--batch 0` would otherwise mean "one" silently).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Print a run's summary (JSON or text) on stdout and return the exit code; errors go to
/// stderr with the code their kind maps to.
pub fn report<T: serde::Serialize>(
    result: Result<T, minewatch_pipeline::PipelineError>,
    format: detect::Format,
    text: fn(&T),
) -> i32 {
    match result {
        Ok(s) => {
            match format {
                detect::Format::Json => match serde_json::to_string_pretty(&s) {
                    Ok(t) => println!("{t}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return 2;
                    }
                },
                detect::Format::Text => text(&s),
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
