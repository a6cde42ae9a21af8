//! Result tables for the terminal and one JSON line per run for machines.
use serde_json::Value;

/// A titled table of text cells; the first row is the header.
#[derive(Debug, Default)]
pub struct Table {
    title: String,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a title and header cells.
    pub fn new(title: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_owned(),
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    /// Add one row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as aligned text (Markdown-compatible pipes).
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                let cell_width = |row: &Vec<String>| row.get(c).map_or(0, |s| s.chars().count());
                self.rows.iter().map(cell_width).max().unwrap_or(0)
            })
            .collect();
        let mut out = format!("{}\n", self.title);
        for (i, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(c, w)| format!("{:<w$}", row.get(c).map_or("", String::as_str)))
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
            if i == 0 {
                let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&format!("| {} |\n", rules.join(" | ")));
            }
        }
        out
    }
}

/// Print the tables, then the JSON line when asked.
pub fn emit(tables: &[Table], json: Option<&Value>) {
    for table in tables {
        println!("{}", table.render());
    }
    if let Some(json) = json {
        println!("{json}");
    }
}

/// A number with one decimal.
pub fn one(x: f64) -> String {
    format!("{x:.1}")
}

/// A ratio as a percentage.
pub fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_under_the_header() {
        let mut table = Table::new("t", &["op", "MB/s"]);
        table.row(vec!["seal".into(), "1234.5".into()]);
        let text = table.render();
        assert_eq!(
            text,
            "t\n| op   | MB/s   |\n| ---- | ------ |\n| seal | 1234.5 |\n"
        );
        assert_eq!(percent(0.876), "88%");
    }
}
