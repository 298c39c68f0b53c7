//! The swarm bench's plot: each client's download rate over time, as the
//! links counted it, drawn by gnuplot into a PNG (Debian's `gnuplot-nox`,
//! which `cargo xtask setup --bench` installs).
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::{cmd, e2e};

/// Download rates from cumulative byte counts: `samples` are (seconds,
/// bytes so far); each rate is over the last `window` seconds, in MB/s.
pub(crate) fn rates(samples: &[(f64, u64)], window: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(samples.len());
    let mut from = 0;
    for (i, &(t, bytes)) in samples.iter().enumerate() {
        while t - samples[from].0 > window + 1e-9 {
            from += 1;
        }
        let (t0, b0) = samples[from];
        if i == from || t <= t0 {
            out.push((t, 0.0));
            continue;
        }
        let rate = bytes.saturating_sub(b0) as f64 / (t - t0) / 1e6;
        out.push((t, rate));
    }
    out
}

/// The gnuplot data (one block per series, a blank pair between) and
/// the script drawing them into `png`.
pub(crate) fn gnuplot(
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    png: &Path,
) -> (String, String) {
    let mut data = String::new();
    for (name, points) in series {
        let _ = writeln!(data, "# {name}");
        for (t, r) in points {
            let _ = writeln!(data, "{t:.2} {r:.3}");
        }
        data.push_str("\n\n");
    }
    let mut script = String::new();
    let _ = writeln!(script, "set terminal png size 1100,550");
    let _ = writeln!(script, "set output '{}'", png.display());
    let _ = writeln!(script, "set title '{}' noenhanced", title.replace('\'', ""));
    let _ = writeln!(script, "set xlabel 'seconds since the client started'");
    let _ = writeln!(script, "set ylabel 'download rate, MB/s (1 s window)'");
    let _ = writeln!(script, "set key outside right");
    let _ = writeln!(script, "set grid");
    let plots: Vec<String> = series
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("DATA index {i} using 1:2 with lines lw 2 title '{name}'"))
        .collect();
    let _ = writeln!(script, "plot {}", plots.join(", "));
    (data, script)
}

/// Writes `stem.dat` and `stem.gp` next to `png` and runs gnuplot; says
/// so and carries on if gnuplot cannot be had.
pub(crate) fn draw(title: &str, series: &[(&str, Vec<(f64, f64)>)], png: &Path) -> Result<()> {
    let dat = png.with_extension("dat");
    let gp = png.with_extension("gp");
    let (data, script) = gnuplot(title, series, png);
    fs::write(&dat, data)?;
    fs::write(&gp, script.replace("DATA", &format!("'{}'", dat.display())))?;
    if !cmd::have("gnuplot") {
        println!(
            "bench --swarm: no gnuplot (`cargo xtask setup --bench` installs gnuplot-nox), so no {}; its data is in {}",
            png.display(),
            dat.display()
        );
        return Ok(());
    }
    e2e::check_output(Command::new("gnuplot").arg(&gp), Duration::from_secs(60))?;
    println!("bench --swarm: plot in {}", png.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_over_the_window() {
        // 1 MB every 0.5 s, then nothing.
        let samples = [
            (0.0, 0),
            (0.5, 1_000_000),
            (1.0, 2_000_000),
            (1.5, 3_000_000),
            (2.0, 3_000_000),
            (2.5, 3_000_000),
        ];
        let got = rates(&samples, 1.0);
        let want = [
            (0.0, 0.0),
            (0.5, 2.0),
            (1.0, 2.0),
            (1.5, 2.0),
            (2.0, 1.0),
            (2.5, 0.0),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9,
                "{got:?}"
            );
        }
    }

    #[test]
    fn one_block_and_one_line_per_client() {
        let series = [
            ("monsoon", vec![(0.0, 1.0), (1.0, 2.0)]),
            ("rqbit", vec![(0.0, 3.0)]),
        ];
        let (data, script) = gnuplot("s1", &series, Path::new("/tmp/x.png"));
        assert_eq!(
            data,
            "# monsoon\n0.00 1.000\n1.00 2.000\n\n\n# rqbit\n0.00 3.000\n\n\n"
        );
        assert!(script.contains("set output '/tmp/x.png'"));
        assert!(script.contains(
            "plot DATA index 0 using 1:2 with lines lw 2 title 'monsoon', \
             DATA index 1 using 1:2 with lines lw 2 title 'rqbit'"
        ));
    }
}
