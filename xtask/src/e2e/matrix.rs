//! The result table: scenario × seeding client → ok / FAILED, seconds.
use std::fmt::Write as _;
use std::time::Duration;

/// One cell's outcome.
#[derive(Debug)]
pub(crate) struct Cell {
    scenario: String,
    client: String,
    time: Duration,
    error: Option<String>,
}

/// Every cell of a run, in the order they ran.
#[derive(Debug, Default)]
pub(crate) struct Matrix {
    cells: Vec<Cell>,
}

impl Matrix {
    /// Records one cell.
    pub(crate) fn record(
        &mut self,
        scenario: &str,
        client: &str,
        time: Duration,
        result: &anyhow::Result<()>,
    ) {
        self.cells.push(Cell {
            scenario: scenario.to_owned(),
            client: client.to_owned(),
            time,
            error: result.as_ref().err().map(|e| format!("{e:#}")),
        });
    }

    /// Cells that failed.
    pub(crate) fn failures(&self) -> usize {
        self.cells.iter().filter(|c| c.error.is_some()).count()
    }

    /// Renders the table (rows: scenarios, columns: clients, in first-seen
    /// order), then one line per failure with its error.
    pub(crate) fn render(&self) -> String {
        let mut scenarios: Vec<&str> = Vec::new();
        let mut clients: Vec<&str> = Vec::new();
        for c in &self.cells {
            if !scenarios.contains(&c.scenario.as_str()) {
                scenarios.push(&c.scenario);
            }
            if !clients.contains(&c.client.as_str()) {
                clients.push(&c.client);
            }
        }
        let text = |scenario: &str, client: &str| {
            self.cells
                .iter()
                .find(|c| c.scenario == scenario && c.client == client)
                .map_or_else(
                    || "-".to_owned(),
                    |c| {
                        let verdict = if c.error.is_some() { "FAILED" } else { "ok" };
                        format!("{verdict} {:.1}s", c.time.as_secs_f64())
                    },
                )
        };
        let first = scenarios
            .iter()
            .map(|s| s.len())
            .chain(["scenario".len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = clients
            .iter()
            .map(|cl| {
                scenarios
                    .iter()
                    .map(|s| text(s, cl).len())
                    .chain([cl.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let _ = write!(out, "| {:first$} |", "scenario");
        for (cl, w) in clients.iter().zip(&widths) {
            let _ = write!(out, " {cl:w$} |");
        }
        let _ = write!(out, "\n|{}|", "-".repeat(first + 2));
        for w in &widths {
            let _ = write!(out, "{}|", "-".repeat(w + 2));
        }
        for s in &scenarios {
            let _ = write!(out, "\n| {s:first$} |");
            for (cl, w) in clients.iter().zip(&widths) {
                let _ = write!(out, " {:w$} |", text(s, cl));
            }
        }
        for c in self.cells.iter().filter(|c| c.error.is_some()) {
            let _ = write!(
                out,
                "\nFAILED {} / {}: {}",
                c.scenario,
                c.client,
                c.error.as_deref().unwrap_or_default()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cells_gaps_and_failures() {
        let mut m = Matrix::default();
        m.record(
            "single file",
            "libtorrent",
            Duration::from_millis(1500),
            &Ok(()),
        );
        m.record("single file", "aria2", Duration::from_secs(2), &Ok(()));
        m.record(
            "resume",
            "libtorrent",
            Duration::from_secs(3),
            &Err(anyhow::anyhow!("boom")),
        );
        assert_eq!(m.failures(), 1);
        let table = m.render();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| scenario    | libtorrent  | aria2   |");
        assert_eq!(lines[2], "| single file | ok 1.5s     | ok 2.0s |");
        assert_eq!(lines[3], "| resume      | FAILED 3.0s | -       |");
        assert_eq!(lines[4], "FAILED resume / libtorrent: boom");
    }
}
