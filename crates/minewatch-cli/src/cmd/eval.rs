//! `minewatch eval DETECTION --reference REF`

use clap::Args;
use minewatch_pipeline::{run_eval, EvalReport, EvalRequest};
use std::path::PathBuf;

use super::detect::Format;

#[derive(Args)]
pub struct EvalArgs {
    /// A `detect` output folder, or a patches file (GeoPackage, GeoJSON, any OGR vector).
    pub detection: PathBuf,
    /// Reference raster: a full change label, or sparse samples with --samples. Only its
    /// pixels inside the detection's grid (from the detect manifest) that the detection
    /// assessed (data on both dates, not under detect's --mask) are scored, never its
    /// NoData. Scores with nothing to divide by (precision without patches, recall of a
    /// reference without change) are n/a in text and null in JSON.
    #[arg(long)]
    pub reference: PathBuf,
    /// Reference values that mean change (comma-separated).
    #[arg(long = "change", value_delimiter = ',', default_value = "1")]
    pub change: Vec<f64>,
    /// Reference values that mean no change (comma-separated); other values are not scored.
    #[arg(long = "no-change", value_delimiter = ',', default_value = "0")]
    pub no_change: Vec<f64>,
    /// The reference is a sparse sample (e.g. Nanjing: --samples --change 1 --no-change 2):
    /// adds the stratified (Olofsson) estimate; object scores need a full map and are skipped.
    #[arg(long)]
    pub samples: bool,
    /// Date pair to score when the detection holds several (e.g. 20160927_20180323).
    #[arg(long)]
    pub pair: Option<String>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: EvalArgs) -> i32 {
    let req = EvalRequest {
        detection: a.detection,
        reference: a.reference,
        change_values: a.change,
        nochange_values: a.no_change,
        samples: a.samples,
        pair: a.pair,
    };
    minewatch_pipeline::configure();
    super::report(run_eval(&req), a.format, print_text)
}

fn print_text(r: &EvalReport) {
    let c = &r.confusion;
    let s = &r.pixel;
    println!(
        "detection {} ({} patches{})",
        r.detection.display(),
        r.patches,
        r.pair
            .as_ref()
            .map(|p| format!(", pair {p}"))
            .unwrap_or_default()
    );
    println!("reference {} ({} reference)", r.reference.display(), r.mode);
    let sc = &r.scope;
    let left_out = match (sc.labelled_pixels_without_data, sc.labelled_pixels_masked) {
        (Some(w), Some(m)) => format!(
            "; {w} labelled pixels without data on a date and {m} under detect's --mask not scored"
        ),
        _ => String::new(),
    };
    println!(
        "scored within the {} ({} reference pixels outside it not scored){left_out}; {}",
        sc.within, sc.reference_pixels_outside, sc.note
    );
    for n in &r.notes {
        println!("note: {n}");
    }
    println!(
        "pixels scored {}: TP {} FP {} FN {} TN {}",
        s.scored_pixels, c.tp, c.fp, c.fn_, c.tn
    );
    println!(
        "change class, pixels:  precision {}  recall {}  F1 {}  IoU {}  kappa {}  OA {}",
        num(s.precision),
        num(s.recall),
        num(s.f1),
        num(s.iou),
        num(s.kappa),
        num(s.overall_accuracy)
    );
    if let Some(o) = &r.objects {
        println!(
            "change class, objects: precision {} ({} of {} mapped objects hit change: the patches as connected areas on the reference grid)  recall {} ({} of {} reference objects found)  F1 {}",
            num(o.precision), o.detected_correct, o.detected_objects, num(o.recall), o.reference_found, o.reference_objects, num(o.f1)
        );
    }
    if let Some(e) = &r.stratified {
        println!("stratified estimate (Olofsson et al. 2014), strata = map classes, weights {:.4} / {:.4}:", e.weights[0], e.weights[1]);
        println!("  area proportions   ref no-change  ref change");
        let cell = |v: Option<f64>, width: usize| match v {
            Some(v) => format!("{v:>width$.5}"),
            None => format!("{NA:>width$}"),
        };
        for (i, name) in ["map no-change", "map change   "].iter().enumerate() {
            let p = e.proportions[i];
            println!("  {name}      {}  {}", cell(p[0], 12), cell(p[1], 10));
        }
        println!(
            "  user's accuracy change {}, no-change {}; producer's accuracy change {}, no-change {}; overall {}",
            num(e.users_accuracy[1]), num(e.users_accuracy[0]), num(e.producers_accuracy[1]), num(e.producers_accuracy[0]), num(e.overall_accuracy)
        );
        let ha = |v: Option<f64>| v.map_or(NA.to_string(), |v| format!("{:.1} ha", v / 1e4));
        println!(
            "  changed area {} ± {} (95 % CI); mapped {:.1} ha; of the {:.1} ha the map assessed",
            ha(e.change_area),
            ha(e.change_area_ci95),
            e.mapped_change_area / 1e4,
            e.region_area / 1e4
        );
    }
}

/// How an undefined score (a ratio over nothing: precision without patches, recall without
/// reference change) prints; JSON has `null`. A 0 would claim every patch wrong.
const NA: &str = "n/a";

fn num(v: Option<f64>) -> String {
    v.map_or(NA.to_string(), |v| format!("{v:.3}"))
}
