pub mod audit;
pub mod detect;
pub mod eval;
pub mod overlay;
pub mod package;
pub mod rank;
pub mod run;
pub mod sample;
pub mod shard;

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
