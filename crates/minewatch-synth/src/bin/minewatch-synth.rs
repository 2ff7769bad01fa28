//! `minewatch-synth --width W --height H --seed S --out DIR [--zones] [--weather]`: write
//! a synthetic pair (and, with `--zones`, enforcement zones like the peers'; with
//! `--weather`, a cloud, its shadow and haze on the second date).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str, d: &str| -> String {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| d.to_string())
    };
    let parse = |k: &str, d: &str| -> usize {
        get(k, d).parse().unwrap_or_else(|_| {
            eprintln!("error: {k} needs a whole number");
            std::process::exit(1)
        })
    };
    let mut spec = minewatch_synth::SceneSpec::small(
        parse("--width", "256"),
        parse("--height", "256"),
        parse("--seed", "7") as u64,
    );
    spec.nodata_rows = parse("--nodata-rows", "0");
    // A cloud, its shadow and haze on the second date.
    spec.weather = args.iter().any(|a| a == "--weather");
    let out = std::path::PathBuf::from(get("--out", "."));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: {}: {e}", out.display());
        std::process::exit(1);
    }
    match minewatch_synth::write_scene(&spec, &out, ["synth_20200601.tif", "synth_20210601.tif"]) {
        Ok(p) => {
            for p in p {
                println!("{}", p.display());
            }
            if args.iter().any(|a| a == "--zones") {
                let z = out.join("zones.geojson");
                let counts = minewatch_synth::zones::ZoneCounts::like_peers();
                if let Err(e) = minewatch_synth::zones::write_zones(&spec, counts, &z) {
                    eprintln!("error: {}: {e}", z.display());
                    std::process::exit(2);
                }
                println!("{}", z.display());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
