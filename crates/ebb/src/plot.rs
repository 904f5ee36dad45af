//! `ebb simulate --plot FILE`: demand, each run's supply, and the time its SLO was violated,
//! over the trace, as SVG or PNG (by the file's extension).

use std::path::Path;

use anyhow::{Context, bail};
use ebb_sim::compare::Scored;
use ebb_sim::scores::{Step, value_at};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (its license is in `assets/DejaVuSans.LICENSE`): plotters draws text with it, so
/// that a plot needs no font installed on the machine.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// How many points a curve is drawn with: enough for a screen, few enough for months of trace.
const POINTS: usize = 1500;

/// The colours of the runs, in order.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

/// Draws `demand` and the runs' supplies over `[0, end)` seconds into `path`.
pub fn draw(path: &Path, demand: &[Step], runs: &[&Scored], end: f64) -> anyhow::Result<()> {
    register_font()?;
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let size = (1600, 900);
    match extension.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            chart(&root, demand, runs, end)?;
            root.present().with_context(|| format!("cannot write {}", path.display()))
        }
        Some("png") => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            chart(&root, demand, runs, end)?;
            root.present().with_context(|| format!("cannot write {}", path.display()))
        }
        _ => bail!("--plot takes a .svg or .png file, not {}", path.display()),
    }
}

fn register_font() -> anyhow::Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the bundled font cannot be read"))
}

/// A curve sampled at `POINTS` instants, as (hours, members); holes left out.
fn sampled(curve: &[Step], end: f64) -> Vec<(f64, f64)> {
    (0..POINTS)
        .filter_map(|i| {
            let t = end * i as f64 / POINTS as f64;
            value_at(curve, t).map(|v| (t / 3600.0, v))
        })
        .collect()
}

fn chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    demand: &[Step],
    runs: &[&Scored],
    end: f64,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let fail = |err: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("drawing the plot: {err:?}");
    root.fill(&WHITE).map_err(fail)?;
    let demand_points = sampled(demand, end);
    let curves: Vec<Vec<(f64, f64)>> = runs.iter().map(|run| sampled(&run.supply, end)).collect();
    let top = demand_points.iter().chain(curves.iter().flatten()).map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;
    let hours = end / 3600.0;
    let mut chart = ChartBuilder::on(root)
        .caption("Demand and supply (members); shaded: the first run short of demand", ("sans-serif", 28))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..hours, 0.0..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("hours from the trace's start")
        .y_desc("members")
        .label_style(("sans-serif", 18))
        .draw()
        .map_err(fail)?;
    // Where the first run was short of demand: the SLO was violated.
    if let Some(first) = curves.first() {
        let short: Vec<(f64, f64)> =
            demand_points.iter().zip(first).map(|((h, d), (_, s))| (*h, if s < d { top } else { 0.0 })).collect();
        chart
            .draw_series(AreaSeries::new(short, 0.0, RGBColor(255, 0, 0).mix(0.12)))
            .map_err(fail)?
            .label("SLO violated (first run)")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], RGBColor(255, 0, 0).mix(0.3).filled()));
    }
    chart
        .draw_series(LineSeries::new(demand_points, BLACK.stroke_width(2)))
        .map_err(fail)?
        .label("demand")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    for (index, (run, points)) in runs.iter().zip(curves).enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(1)))
            .map_err(fail)?
            .label(run.name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(fail)?;
    Ok(())
}
