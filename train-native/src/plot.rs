//! Minimal SVG line charts (no plotting dependency).

/// One line.
pub struct Series {
    /// Legend.
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// Width allowed per legend character.
const LEGEND_CHAR_PX: f64 = 7.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A line chart with x in the data range and y in `y_range`.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_range: (f64, f64),
) -> String {
    // The legend's column is as wide as its longest name (about 7 px a character at 12 px
    // sans-serif, generous), so no name is cut off; the plot area stays 380 px wide.
    let longest = series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let r = (45.0 + LEGEND_CHAR_PX * longest).max(200.0);
    let (w, h, l, t, b) = (440.0 + r, 400.0, 60.0, 40.0, 50.0);
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x0, x1) = if x1 > x0 { (x0, x1) } else { (0.0, 1.0) };
    let px = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let py = |y: f64| h - b - (y - y_range.0) / (y_range.1 - y_range.0) * (h - t - b);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        (w - r + l) / 2.0,
        esc(title)
    );
    for k in 0..=5 {
        let y = y_range.0 + (y_range.1 - y_range.0) * k as f64 / 5.0;
        s.push_str(&format!("<line x1=\"{l}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{y:.1}</text>\n", w - r, py(y), py(y), l - 6.0, py(y) + 4.0));
    }
    for k in 0..=4 {
        let x = x0 + (x1 - x0) * k as f64 / 4.0;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{x:.2}</text>\n",
            px(x),
            h - b + 18.0
        ));
    }
    s.push_str(&format!("<line x1=\"{l}\" x2=\"{l}\" y1=\"{t}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{l}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", h - b, w - r, h - b, h - b));
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        (w - r + l) / 2.0,
        h - 10.0,
        esc(x_label)
    ));
    s.push_str(&format!("<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">{}</text>\n", h / 2.0, h / 2.0, esc(y_label)));
    for (i, se) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y.clamp(y_range.0, y_range.1))))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            pts.join(" ")
        ));
        for &(x, y) in &se.points {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>\n",
                px(x),
                py(y.clamp(y_range.0, y_range.1))
            ));
        }
        let ly = t + 10.0 + 18.0 * i as f64;
        s.push_str(&format!("<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"3\"/><text x=\"{}\" y=\"{}\">{}</text>\n", w - r + 10.0, w - r + 30.0, w - r + 35.0, ly + 4.0, esc(&se.name)));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `width` attribute of a chart.
    fn width(svg: &str) -> f64 {
        let at = svg.find("width=\"").unwrap() + 7;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    }

    #[test]
    fn a_long_legend_name_fits_inside_the_chart() {
        let name = "student-kd-cleaned (cleaned timestamps, tokens 64)".to_string();
        let long = [Series {
            name: name.clone(),
            points: vec![(0.0, 0.5), (1.0, 0.7)],
        }];
        let svg = line_chart("t", "x", "y", &long, (0.0, 1.0));
        // The legend text starts 35 px right of the plot area, which ends 380 px after its left
        // margin of 60.
        let room = width(&svg) - (60.0 + 380.0 + 35.0);
        assert!(
            room >= LEGEND_CHAR_PX * name.chars().count() as f64,
            "{room} px for {name:?}"
        );
        let short = [Series {
            name: "a".into(),
            points: vec![(0.0, 0.5)],
        }];
        assert_eq!(width(&line_chart("t", "x", "y", &short, (0.0, 1.0))), 640.0);
    }
}
