//! The paging styles of vendor APIs, over an ordered index of a [`Store`](super::store::Store):
//! page number (`page`/`per_page`), offset/limit, a cursor or next token that names the last item
//! served (`starting_after`, an export cursor), the `Link: <...>; rel="next"` header, and the
//! time-window export whose next page starts at the last item's second. Each function does the
//! arithmetic; the vendor chooses the parameter names, encodes its cursors and shapes the body.
//!
//! Parameters are read as leniently as the vendors read them: `start_time=946684800.0` is a
//! Unix time in seconds, as it is to Zendesk.

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;

use axum::http::HeaderValue;
use serde_json::Value;

/// A query parameter parsed as `T`; `None` when absent or unparsable.
pub fn param<T: FromStr>(params: &HashMap<String, String>, key: &str) -> Option<T> {
    params.get(key).and_then(|v| v.trim().parse().ok())
}

/// A Unix time in whole seconds from `1700000000`, `1700000000.5` or `" 1700000000 "`: clients
/// send floats (Python's `datetime.timestamp()`), which count by the whole second.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| text.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
}

/// [`unix_seconds`] of a JSON number or string.
pub fn unix_seconds_json(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
        .or_else(|| value.as_str().and_then(unix_seconds))
}

/// A page-number request: page `page` (from 1) of `per_page` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber {
    pub page: usize,
    pub per_page: usize,
}

impl PageNumber {
    /// Reads `page` (default 1) and `per_page` (default `default`, at most `max`, at least 1).
    pub fn from_params(params: &HashMap<String, String>, default: usize, max: Option<usize>) -> Self {
        let asked = param(params, "per_page").unwrap_or(default).max(1);
        let per_page = max.map_or(asked, |m| asked.min(m.max(1)));
        Self { page: param(params, "page").unwrap_or(1).max(1), per_page }
    }

    /// The positions of the page in a list of `len` items (empty past the end).
    pub fn range(&self, len: usize) -> Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(len);
        start..(start + self.per_page).min(len)
    }

    pub fn total_pages(&self, len: usize) -> usize {
        len.div_ceil(self.per_page)
    }

    /// Whether a page follows this one.
    pub fn has_next(&self, len: usize) -> bool {
        self.page < self.total_pages(len)
    }
}

/// An offset/limit request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetLimit {
    pub offset: usize,
    pub limit: usize,
}

impl OffsetLimit {
    /// Reads `offset` (default 0) and `limit` (default `default`, at most `max`, at least 1).
    pub fn from_params(params: &HashMap<String, String>, default: usize, max: usize) -> Self {
        let limit = param(params, "limit").unwrap_or(default).clamp(1, max.max(1));
        Self { offset: param(params, "offset").unwrap_or(0), limit }
    }

    pub fn range(&self, len: usize) -> Range<usize> {
        let start = self.offset.min(len);
        start..(start + self.limit).min(len)
    }
}

/// Up to `per_page` items of `items` and whether more remain (one more is looked at, no further):
/// a cursor page over an index, whatever filters the iterator applies.
pub fn take_page<T>(items: impl Iterator<Item = T>, per_page: usize) -> (Vec<T>, bool) {
    let mut page: Vec<T> = Vec::with_capacity(per_page.min(1024));
    let mut items = items.peekable();
    while page.len() < per_page {
        match items.next() {
            Some(t) => page.push(t),
            None => return (page, false),
        }
    }
    let more = items.peek().is_some();
    (page, more)
}

/// Where a newest-first list (Stripe's) resumes, as a position in the index (oldest first):
/// `starting_after` an object walks toward older items, `ending_before` one toward newer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// From the newest item.
    Newest,
    /// The items at positions below this one (older than the anchor).
    Older(usize),
    /// The items at this position and above (newer than the anchor), nearest first.
    Newer(usize),
}

/// A page of a list served newest first over an index kept oldest first: the positions (within
/// `within`, a range of the index) of up to `limit` items from `anchor`, newest first, and
/// whether more remain in the direction of travel. `Newer` takes the `limit` items nearest the
/// anchor and still answers them newest first, as Stripe does. Costs the page, not the list.
pub fn newest_first(within: Range<usize>, anchor: Anchor, limit: usize) -> (Vec<usize>, bool) {
    let (lo, hi) = (within.start, within.end.max(within.start));
    match anchor {
        Anchor::Newest | Anchor::Older(_) => {
            let top = match anchor {
                Anchor::Older(p) => p.clamp(lo, hi),
                _ => hi,
            };
            let from = top.saturating_sub(limit).max(lo);
            ((from..top).rev().collect(), from > lo)
        }
        Anchor::Newer(p) => {
            let start = p.clamp(lo, hi);
            let to = (start + limit).min(hi);
            ((start..to).rev().collect(), to < hi)
        }
    }
}

/// A time-window export page (Zendesk's time-based incremental export): `items` are the
/// `(second, item)` at or after `start`, in order. The page holds `per_page` items, extended so it
/// never ends inside a second and always gets past `start` while more remain (otherwise a second
/// holding more than a page would be served forever). Returns the items, whether the export
/// ended, and the second the next page starts at (the last item's, or `start`).
pub fn time_window<T>(items: impl Iterator<Item = (i64, T)>, start: i64, per_page: usize) -> (Vec<T>, bool, i64) {
    let mut items = items.peekable();
    let mut page: Vec<T> = Vec::new();
    let mut last: Option<i64> = None;
    while let Some(&(next, _)) = items.peek() {
        let full = page.len() >= per_page.max(1);
        if full && last.is_some_and(|l| l != next && l != start) {
            break;
        }
        let (t, item) = items.next().expect("peeked");
        page.push(item);
        last = Some(t);
    }
    let end_of_stream = items.peek().is_none();
    (page, end_of_stream, last.unwrap_or(start))
}

/// A `Link` header naming the next page: `<url>; rel="next"`.
pub fn link_next(url: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")).ok()
}

/// `path?k=v&...` with the request's parameters, `set` replacing or adding some; keys sorted so
/// the URL is stable.
pub fn url_with(path: &str, params: &HashMap<String, String>, set: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend(set.iter().map(|(k, v)| (*k, v.as_str())));
    all.sort_unstable();
    let query: Vec<String> = all.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) }
}

/// Percent-encodes a query component (unreserved characters stay).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn unix_times_are_read_leniently() {
        assert_eq!(unix_seconds("946684800"), Some(946_684_800));
        assert_eq!(unix_seconds("946684800.0"), Some(946_684_800));
        assert_eq!(unix_seconds(" 946684800.9 "), Some(946_684_800));
        assert_eq!(unix_seconds("NaN"), None);
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds_json(&serde_json::json!(1.5e9)), Some(1_500_000_000));
        assert_eq!(unix_seconds_json(&serde_json::json!("12")), Some(12));
    }

    #[test]
    fn page_numbers_and_offsets_slice_lists() {
        let p = PageNumber::from_params(&params(&[("page", "3"), ("per_page", "4")]), 15, None);
        assert_eq!((p.range(10), p.total_pages(10), p.has_next(10)), (8..10, 3, false));
        assert_eq!(p.range(5), 5..5);
        let capped = PageNumber::from_params(&params(&[("per_page", "500")]), 15, Some(100));
        assert_eq!((capped.page, capped.per_page, capped.has_next(101)), (1, 100, true));
        let o = OffsetLimit::from_params(&params(&[("offset", "7"), ("limit", "0")]), 50, 100);
        assert_eq!(o.range(9), 7..8);
    }

    #[test]
    fn a_cursor_page_looks_one_item_ahead() {
        assert_eq!(take_page(1..=5, 2), (vec![1, 2], true));
        assert_eq!(take_page(1..=4, 4), (vec![1, 2, 3, 4], false));
        assert_eq!(take_page(1..1, 4), (vec![], false));
    }

    #[test]
    fn newest_first_lists_walk_both_ways_from_an_anchor() {
        // Positions 0..10, oldest first; a filter keeps 2..9.
        assert_eq!(newest_first(2..9, Anchor::Newest, 3), (vec![8, 7, 6], true));
        assert_eq!(newest_first(2..9, Anchor::Older(6), 3), (vec![5, 4, 3], true));
        assert_eq!(newest_first(2..9, Anchor::Older(5), 3), (vec![4, 3, 2], false));
        assert_eq!(newest_first(2..9, Anchor::Older(0), 3), (vec![], false), "an anchor older than the range");
        // Toward newer items: the nearest ones, answered newest first.
        assert_eq!(newest_first(2..9, Anchor::Newer(4), 2), (vec![5, 4], true));
        assert_eq!(newest_first(2..9, Anchor::Newer(7), 5), (vec![8, 7], false));
        assert_eq!(newest_first(2..9, Anchor::Newer(0), 2), (vec![3, 2], true));
        assert_eq!(newest_first(5..5, Anchor::Newest, 2), (vec![], false));
    }

    #[test]
    fn a_time_window_never_ends_inside_a_second() {
        let items = [(10, 'a'), (11, 'b'), (11, 'c'), (11, 'd'), (12, 'e')];
        assert_eq!(time_window(items.into_iter(), 10, 2), (vec!['a', 'b', 'c', 'd'], false, 11));
        assert_eq!(time_window(items[1..].iter().copied(), 11, 1), (vec!['b', 'c', 'd', 'e'], true, 12));
        assert_eq!(time_window(items.into_iter(), 10, 5), (items.map(|i| i.1).to_vec(), true, 12));
        assert_eq!(time_window(std::iter::empty::<(i64, char)>(), 10, 5), (vec![], true, 10));
    }

    #[test]
    fn next_links_keep_the_request_and_encode_it() {
        let url = url_with("http://h/api/v2/x", &params(&[("page", "1"), ("q", "a b")]), &[("page", "2".into())]);
        assert_eq!(url, "http://h/api/v2/x?page=2&q=a%20b");
        assert_eq!(link_next(&url).unwrap(), "<http://h/api/v2/x?page=2&q=a%20b>; rel=\"next\"");
    }
}
