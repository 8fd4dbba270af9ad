//! Tables: each page builds its tables once as data, and the same data renders as HTML or, with
//! `?csv=<name>`, downloads as CSV. So every table exports exactly what it shows.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::WebError;
use crate::form::Pairs;

/// One cell: its text (what the CSV holds), and how the HTML shows it.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: Option<&'static str>,
    /// HTML shown instead of the text (a checkbox, a form); the CSV keeps the text.
    pub html: Option<Markup>,
}

impl Cell {
    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Self {
        Cell { text: text.into(), href: Some(href.into()), ..Default::default() }
    }

    pub fn num(n: impl std::fmt::Display) -> Self {
        Cell { text: n.to_string(), class: Some("num"), ..Default::default() }
    }

    pub fn class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }

    pub fn html(mut self, html: Markup) -> Self {
        self.html = Some(html);
        self
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, ..Default::default() }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell { text: text.to_owned(), ..Default::default() }
    }
}

/// A table with a name (its CSV file and `?csv=` value), a caption and rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub caption: String,
    /// Column headers; a header ending in `#` is right-aligned (numbers) and shown without it.
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Shown instead of an empty table.
    pub empty: &'static str,
}

impl Table {
    pub fn new(name: &'static str, caption: impl Into<String>, headers: Vec<&'static str>) -> Self {
        Table { name, caption: caption.into(), headers, rows: Vec::new(), empty: "nothing to show" }
    }

    pub fn empty(mut self, text: &'static str) -> Self {
        self.empty = text;
        self
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len(), "table {}", self.name);
        self.rows.push(row);
    }

    /// The table as HTML, with its CSV link (the page's own query plus `csv=<name>`).
    pub fn render(&self, query: &Pairs) -> Markup {
        let csv = format!("?{}", query.with("csv", Some(self.name)));
        html! {
            div.table-wrap {
                table id=(format!("table-{}", self.name)) {
                    caption { (self.caption) }
                    thead { tr {
                        @for h in &self.headers {
                            @let (label, num) = header_label(h);
                            th.num[num] scope="col" { (label) }
                        }
                    } }
                    tbody {
                        @if self.rows.is_empty() {
                            tr { td.muted colspan=(self.headers.len()) { (self.empty) } }
                        }
                        @for row in &self.rows {
                            tr { @for c in row { td class=[c.class] { (cell_html(c)) } } }
                        }
                    }
                }
            }
            div.table-tools { a href=(csv) download=(format!("{}.csv", self.name)) { "Download CSV" } }
        }
    }

    /// The table as a CSV download.
    pub fn csv(&self) -> Result<Response, WebError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| WebError::Internal(format!("csv: {e}"));
        w.write_record(self.headers.iter().map(|h| header_label(h).0)).map_err(err)?;
        for row in &self.rows {
            w.write_record(row.iter().map(|c| c.text.as_str())).map_err(err)?;
        }
        let body = w.into_inner().map_err(|e| WebError::Internal(format!("csv: {e}")))?;
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", self.name)),
            ],
            body,
        )
            .into_response())
    }
}

fn header_label(h: &str) -> (&str, bool) {
    match h.strip_suffix('#') {
        Some(l) => (l, true),
        None => (h, false),
    }
}

fn cell_html(c: &Cell) -> Markup {
    if let Some(h) = &c.html {
        return h.clone();
    }
    match &c.href {
        Some(href) => html! { a href=(href) { (c.text) } },
        None => html! { (c.text) },
    }
}

/// The page's answer when `?csv=<name>` asks for one of its tables.
pub fn csv_answer(query: &Pairs, tables: &[&Table]) -> Option<Result<Response, WebError>> {
    let name = query.get("csv")?;
    Some(match tables.iter().find(|t| t.name == name) {
        Some(t) => t.csv(),
        None => Err(WebError::NotFound(format!(
            "this page has no table {name:?}; its tables: {}",
            tables.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        ))),
    })
}
