//! Charts drawn on the server as inline SVG: no script, no library, readable without colour
//! (each series is also a table on the page).

use maud::{Markup, html};

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub label: &'a str,
    /// A CSS colour with enough contrast on white.
    pub color: &'a str,
    pub values: Vec<f64>,
}

/// A line chart of several series over the same x labels (shown at the first, middle and last
/// point).
pub fn lines(title: &str, x_labels: &[String], series: &[Series<'_>]) -> Markup {
    const W: f64 = 900.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 44.0;
    const BOTTOM: f64 = 24.0;
    const TOP: f64 = 10.0;
    let n = x_labels.len().max(1);
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0f64, f64::max);
    let top = nice_ceiling(max);
    let x = |i: usize| LEFT + (W - LEFT - 8.0) * if n == 1 { 0.5 } else { i as f64 / (n - 1) as f64 };
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - if top > 0.0 { v / top } else { 0.0 });
    let ticks = [0.0, top / 2.0, top];
    let label_at = [0, n / 2, n - 1];
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
            title { (title) }
            @for t in ticks {
                line x1=(LEFT) x2=(W - 8.0) y1=(y(t)) y2=(y(t)) stroke="#d0d7de" stroke-width="1" {}
                text x=(LEFT - 6.0) y=(y(t) + 4.0) text-anchor="end" { (format_tick(t)) }
            }
            @for i in label_at {
                @if let Some(l) = x_labels.get(i) {
                    text x=(x(i)) y=(H - 6.0) text-anchor="middle" { (l) }
                }
            }
            @for s in series {
                polyline fill="none" stroke=(s.color) stroke-width="2"
                    points=(s.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect::<Vec<_>>().join(" ")) {}
            }
        }
        div.legend {
            @for s in series { span style=(format!("color: {}", s.color)) { (s.label) } }
        }
    }
}

/// The smallest of 1, 2, 5 × 10^k at or above `v` (at least 1).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|c| *c >= v).unwrap_or(10.0 * magnitude)
}

fn format_tick(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(450.0), 500.0);
    }

    #[test]
    fn a_chart_draws_one_line_per_series() {
        let labels: Vec<String> = (1..=3).map(|d| format!("d{d}")).collect();
        let svg = lines(
            "users",
            &labels,
            &[
                Series { label: "DAU", color: "#0b5cad", values: vec![1.0, 2.0, 4.0] },
                Series { label: "MAU", color: "#a4161a", values: vec![3.0, 3.0, 5.0] },
            ],
        )
        .into_string();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">d1<") && svg.contains(">d3<"), "{svg}");
        assert!(svg.contains(">5<") && svg.contains(">2.5<"), "the axis ends at 5, ticks at its half");
    }
}
