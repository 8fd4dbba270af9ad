//! The `file` source: CSV, JSON and NDJSON files, streamed in constant memory.
//!
//! A reader thread parses the file and hands pages to the sync driver through a small bounded
//! channel, so parsing overlaps with linking and writing. Every page carries a cursor (byte offset,
//! or element index for JSON documents) and the file's size and modification time: an interrupted
//! import of an unchanged file resumes where it stopped; a finished or changed file is read again
//! from the start (upserts make that idempotent). A malformed row becomes an `Item::Malformed` with
//! its file, line and reason, and the rest of the file still loads.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use accord_core::config::{FileFormat, ObjectConfig, SourceConfig};
use accord_core::{ConfigError, FieldPath};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, PageStats, RawRecord, Stream};

/// Records per page. Each page in flight (read, linked, written, freed) holds its records' JSON
/// trees: 5,000 keeps a 1,000,000-row import near 205 MiB resident where 10,000 took 250-265 MiB,
/// at the price of about a tenth of its speed (10.6 s against 9.7 s, `cargo bench --bench import`).
const PAGE_SIZE: usize = 5_000;

/// Settings of a `file` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    /// Folder the objects' paths are relative to (default: the config file's folder).
    dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct FileObject {
    spec: ObjectSpec,
    path: PathBuf,
    format: FileFormat,
    records: Option<FieldPath>,
    delimiter: u8,
}

/// A configured `file` source.
#[derive(Debug)]
pub struct FileConnector {
    source: String,
    specs: Vec<ObjectSpec>,
    objects: Vec<FileObject>,
    page_size: usize,
}

impl FileConnector {
    pub fn new(source: &str, config: &SourceConfig, base_dir: &Path) -> Result<Self, ConfigError> {
        let settings: FileSettings = config
            .settings
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::new(format!("sources.{source}"), e.message().to_owned()))?;
        let dir = match settings.dir {
            Some(d) if d.is_absolute() => d,
            Some(d) => base_dir.join(d),
            None => base_dir.to_owned(),
        };
        let objects = config
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| file_object(source, i, o, &dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            source: source.to_owned(),
            specs: objects.iter().map(|o| o.spec.clone()).collect(),
            objects,
            page_size: PAGE_SIZE,
        })
    }

    /// Sets the number of records per page (the default suits imports; tests use small pages).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }
}

fn file_object(source: &str, i: usize, o: &ObjectConfig, dir: &Path) -> Result<FileObject, ConfigError> {
    let key = format!("sources.{source}.objects[{i}]");
    let kind = o.kind.ok_or_else(|| ConfigError::new(format!("{key}.kind"), "file objects need a kind"))?;
    let rel = o.path.clone().ok_or_else(|| ConfigError::new(format!("{key}.path"), "file objects need a path"))?;
    let path = if rel.is_absolute() { rel } else { dir.join(rel) };
    let format = o
        .format
        .or_else(|| FileFormat::from_extension(&path))
        .ok_or_else(|| ConfigError::new(format!("{key}.format"), "set format to csv, json or ndjson"))?;
    let tsv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let delimiter = match o.delimiter {
        Some(c) if c.is_ascii() => c as u8,
        Some(c) => {
            return Err(ConfigError::new(format!("{key}.delimiter"), format!("{c:?} is not a single-byte character")));
        }
        None if tsv => b'\t',
        None => b',',
    };
    if o.records.is_some() && format != FileFormat::Json {
        return Err(ConfigError::new(format!("{key}.records"), "records applies to the json format only"));
    }
    Ok(FileObject {
        spec: ObjectSpec {
            name: o.name.clone(),
            kind,
            native_id: o.native_id.clone(),
            link: o.link.clone().unwrap_or_default(),
            normalize: o.normalize.clone(),
            fields: o.fields.clone(),
        },
        path,
        format,
        records: o.records.clone(),
        delimiter,
    })
}

impl Connector for FileConnector {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn objects(&self) -> &[ObjectSpec] {
        &self.specs
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        let obj = self
            .objects
            .iter()
            .find(|o| o.spec.name == object)
            .ok_or_else(|| ConnectorError::Fatal(format!("source {} has no object {object}", self.source)))?
            .clone();
        let identity = FileIdentity::of(&obj.path)?;
        let resume = match cursor.and_then(|c| serde_json::from_value::<FileCursor>(c).ok()) {
            Some(c) if !full && !c.complete && c.identity == identity => Some(c),
            _ => None,
        };
        let (tx, rx) = mpsc::channel(1);
        let name = format!("accord-file-{}", obj.spec.name);
        let page_size = self.page_size;
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let reader = Reader { obj, identity, tx: tx.clone(), page: Vec::new(), page_size };
                if let Err(e) = reader.run(resume) {
                    let _ = tx.blocking_send(Err(e));
                }
            })
            .map_err(|e| ConnectorError::Fatal(format!("cannot start the file reader: {e}")))?;
        Ok(Box::new(FileStream { rx }))
    }
}

/// What identifies a file's content for resuming: path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
struct FileIdentity {
    path: String,
    size: u64,
    modified_ms: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> Result<Self, ConnectorError> {
        let meta = std::fs::metadata(path).map_err(|e| file_err(path, e))?;
        let modified_ms =
            meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as u64);
        Ok(Self { path: path.display().to_string(), size: meta.len(), modified_ms })
    }
}

/// The cursor of a file stream.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct FileCursor {
    #[serde(flatten)]
    identity: FileIdentity,
    /// Byte offset of the next unread row (CSV, NDJSON).
    offset: u64,
    /// Line of the next unread row (CSV, NDJSON), 1-based.
    line: u64,
    /// Index of the next unread element (JSON).
    index: u64,
    complete: bool,
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::File { path: path.display().to_string(), problem: e.to_string() }
}

struct FileStream {
    rx: mpsc::Receiver<Result<Page, ConnectorError>>,
}

impl Stream for FileStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(async move { self.rx.recv().await.transpose() })
    }
}

struct Reader {
    obj: FileObject,
    identity: FileIdentity,
    tx: mpsc::Sender<Result<Page, ConnectorError>>,
    page: Vec<Item>,
    page_size: usize,
}

/// The receiver hung up (the sync stopped): stop reading quietly.
struct Stopped;

impl Reader {
    fn run(mut self, resume: Option<FileCursor>) -> Result<(), ConnectorError> {
        let file = File::open(&self.obj.path).map_err(|e| file_err(&self.obj.path, e))?;
        let outcome = match self.obj.format {
            FileFormat::Csv => self.csv(file, resume.as_ref()),
            FileFormat::Ndjson => self.ndjson(file, resume.as_ref()),
            FileFormat::Json => self.json(file, resume.as_ref()),
        };
        match outcome {
            Ok(Ok(())) | Ok(Err(Stopped)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn file_name(&self) -> String {
        self.obj.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    fn cursor(&self, offset: u64, line: u64, index: u64, complete: bool) -> Value {
        serde_json::to_value(FileCursor { identity: self.identity.clone(), offset, line, index, complete })
            .expect("cursor serializes")
    }

    /// Queues an item; sends a page when full.
    fn push(&mut self, item: Item, offset: u64, line: u64, index: u64) -> Result<(), Stopped> {
        self.page.push(item);
        if self.page.len() >= self.page_size {
            self.flush(offset, line, index, false)?;
        }
        Ok(())
    }

    fn flush(&mut self, offset: u64, line: u64, index: u64, complete: bool) -> Result<(), Stopped> {
        let items = std::mem::replace(&mut self.page, Vec::with_capacity(self.page_size));
        let done = offset.min(self.identity.size);
        let page = Page {
            items,
            cursor: self.cursor(offset, line, index, complete),
            stats: PageStats { position: Some((done, self.identity.size)), ..Default::default() },
            full_pass: None,
        };
        self.tx.blocking_send(Ok(page)).map_err(|_| Stopped)
    }

    fn csv(&mut self, file: File, resume: Option<&FileCursor>) -> Result<Result<(), Stopped>, ConnectorError> {
        let path = self.obj.path.clone();
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.obj.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(BufReader::with_capacity(1 << 16, file));
        let headers = rdr.byte_headers().map_err(|e| file_err(&path, e))?.clone();
        let mut names: Vec<String> = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let name = std::str::from_utf8(h)
                .map_err(|_| file_err(&path, format!("header column {} is not valid UTF-8", i + 1)))?
                .trim_start_matches('\u{feff}')
                .to_owned();
            if names.contains(&name) {
                return Err(file_err(&path, format!("column {name:?} appears twice in the header")));
            }
            names.push(name);
        }
        if let Some(c) = resume {
            let mut pos = csv::Position::new();
            pos.set_byte(c.offset).set_line(c.line);
            rdr.seek(pos).map_err(|e| file_err(&path, e))?;
        }
        let file_name = self.file_name();
        let mut rec = csv::ByteRecord::new();
        loop {
            let more = rdr.read_byte_record(&mut rec).map_err(|e| file_err(&path, e))?;
            let next = rdr.position().clone();
            if !more {
                break;
            }
            let line = rec.position().map_or(0, |p| p.line());
            let location = format!("{file_name}:{line}");
            let item = csv_item(&names, &rec, location);
            if let Err(s) = self.push(item, next.byte(), next.line(), 0) {
                return Ok(Err(s));
            }
        }
        let end = rdr.position().clone();
        Ok(self.flush(end.byte(), end.line(), 0, true))
    }

    fn ndjson(&mut self, file: File, resume: Option<&FileCursor>) -> Result<Result<(), Stopped>, ConnectorError> {
        let path = self.obj.path.clone();
        let mut rdr = BufReader::with_capacity(1 << 16, file);
        let (mut offset, mut line) = (0u64, 1u64);
        if let Some(c) = resume {
            rdr.seek(SeekFrom::Start(c.offset)).map_err(|e| file_err(&path, e))?;
            (offset, line) = (c.offset, c.line);
        }
        let file_name = self.file_name();
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.clear();
            let n = rdr.read_until(b'\n', &mut buf).map_err(|e| file_err(&path, e))?;
            if n == 0 {
                break;
            }
            offset += n as u64;
            let this_line = line;
            line += 1;
            let text = trim_line_end(&buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let item = json_line_item(text, format!("{file_name}:{this_line}"));
            if let Err(s) = self.push(item, offset, line, 0) {
                return Ok(Err(s));
            }
        }
        Ok(self.flush(offset, line, 0, true))
    }

    fn json(&mut self, file: File, resume: Option<&FileCursor>) -> Result<Result<(), Stopped>, ConnectorError> {
        let path = self.obj.path.clone();
        let skip = resume.map_or(0, |c| c.index);
        let read = Arc::new(AtomicU64::new(0));
        let counting = CountingReader { inner: BufReader::with_capacity(1 << 16, file), read: read.clone() };
        let mut de = serde_json::Deserializer::from_reader(counting);
        let segments: Vec<String> = match &self.obj.records {
            None => Vec::new(),
            Some(p) => p.as_str().split('.').map(str::to_owned).collect(),
        };
        let file_name = self.file_name();
        let mut state = JsonState { reader: self, index: 0, skip, file_name, stopped: false, read };
        let seed = Elements { path: &segments, state: &mut state };
        let result = seed.deserialize(&mut de);
        if state.stopped {
            return Ok(Err(Stopped));
        }
        let index = state.index;
        match result {
            Ok(()) => Ok(self.flush(u64::MAX, 0, index, true)),
            Err(e) => {
                // A broken document cannot be resynchronised: keep what follows as one malformed
                // item, with the position of the error, and stop this object.
                let problem =
                    format!("the JSON document is malformed at line {}, column {}: {e}", e.line(), e.column());
                let item = Item::Malformed {
                    location: format!("{}:{}", self.file_name(), e.line()),
                    problem: problem.clone(),
                    raw: json!({"element": index, "error": e.to_string()}),
                };
                self.page.push(item);
                let _ = self.flush(u64::MAX, 0, index, false);
                Err(file_err(&path, problem))
            }
        }
    }
}

fn trim_line_end(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && (buf[end - 1] == b'\n' || buf[end - 1] == b'\r') {
        end -= 1;
    }
    &buf[..end]
}

/// One NDJSON line (or Event API line) as an item.
pub fn json_line_item(text: &[u8], location: String) -> Item {
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(map)) => {
            Item::Record(RawRecord { data: Value::Object(map), location: Some(location), identity: None })
        }
        Ok(other) => Item::Malformed {
            location,
            problem: format!("expected a JSON object, found {}", json_type(&other)),
            raw: other,
        },
        Err(e) => Item::Malformed {
            location,
            problem: format!("invalid JSON at column {}: {e}", e.column()),
            raw: Value::String(String::from_utf8_lossy(text).into_owned()),
        },
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn csv_item(names: &[String], rec: &csv::ByteRecord, location: String) -> Item {
    let fields: Vec<Value> = rec.iter().map(|f| Value::String(String::from_utf8_lossy(f).into_owned())).collect();
    if rec.len() != names.len() {
        return Item::Malformed {
            problem: format!("the row has {} fields, the header has {}", rec.len(), names.len()),
            location,
            raw: Value::Array(fields),
        };
    }
    let mut map = Map::with_capacity(names.len());
    for (i, (name, f)) in names.iter().zip(rec.iter()).enumerate() {
        if f.is_empty() {
            continue;
        }
        match std::str::from_utf8(f) {
            Ok(s) => {
                map.insert(name.clone(), Value::String(s.to_owned()));
            }
            Err(_) => {
                return Item::Malformed {
                    problem: format!("column {name:?} (field {}) is not valid UTF-8", i + 1),
                    location,
                    raw: Value::Array(fields),
                };
            }
        }
    }
    Item::Record(RawRecord { data: Value::Object(map), location: Some(location), identity: None })
}

/// Counts the bytes the JSON parser has consumed, for progress.
struct CountingReader<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct JsonState<'r> {
    reader: &'r mut Reader,
    index: u64,
    skip: u64,
    file_name: String,
    stopped: bool,
    read: Arc<AtomicU64>,
}

/// Walks to the records array along `path`, then hands each element to the reader.
struct Elements<'p, 's, 'r> {
    path: &'p [String],
    state: &'s mut JsonState<'r>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.path.is_empty() { d.deserialize_seq(self) } else { d.deserialize_map(self) }
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str("an array of records")
        } else {
            write!(f, "an object with key {:?}", self.path[0])
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if !found && key == self.path[0] {
                map.next_value_seed(Elements { path: &self.path[1..], state: &mut *self.state })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !found {
            return Err(serde::de::Error::custom(format!("the document has no key {:?}", self.path[0])));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            let i = self.state.index;
            self.state.index += 1;
            if self.state.stopped || i < self.state.skip {
                continue;
            }
            let location = format!("{}#{i}", self.state.file_name);
            let item = match v {
                Value::Object(_) => Item::Record(RawRecord { data: v, location: Some(location), identity: None }),
                other => Item::Malformed {
                    location,
                    problem: format!("element {i} is {}, not an object", json_type(&other)),
                    raw: other,
                },
            };
            let read = self.state.read.load(Ordering::Relaxed);
            if self.state.reader.push(item, read, 0, i + 1).is_err() {
                self.state.stopped = true;
            }
        }
        Ok(())
    }
}

pub mod desk;

#[cfg(test)]
mod tests;
