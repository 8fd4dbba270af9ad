//! The connector runtime for HTTP APIs: a client (auth, rate limit, retries) and declarative
//! streams interpreted by one runtime. Vendor modules describe their streams as data.

pub mod client;
pub mod limiter;
pub mod rotation;
pub mod source;
pub mod stream;

use std::sync::Arc;

use serde_json::Value;

pub use client::{Auth, FetchStats, Fetched, HttpClient, Refusal, RequestSpec, RetryPolicy, Vendor, Verdict};
pub use limiter::{Limit, Limiter};
pub use rotation::TokenFile;
pub use stream::{DeletionFeed, HttpCursor, HttpStream, Paginator, StreamDef, Total};

use crate::{Connector, ConnectorError, ObjectSpec, Stream};

/// A configured HTTP source: its client and its streams, in reading order.
#[derive(Debug)]
pub struct HttpConnector {
    kind: &'static str,
    client: Arc<HttpClient>,
    streams: Vec<Arc<StreamDef>>,
    objects: Vec<ObjectSpec>,
    writes: Vec<WriteDef>,
}

/// Builds the request reading one record by its native id.
pub type ReadRequest = Box<dyn Fn(&str) -> RequestSpec + Send + Sync>;
/// Builds the request writing a value (the second argument) into one record.
pub type WriteRequest = Box<dyn Fn(&str, &str) -> RequestSpec + Send + Sync>;

/// How one object's best-choice field is read back and written, as data (like [`StreamDef`]).
pub struct WriteDef {
    pub object: String,
    /// The field the object's first `field` rule reads.
    pub field: accord_core::FieldPath,
    /// The request reading one record by its native id.
    pub read: ReadRequest,
    /// Where the field's value sits in that answer.
    pub read_value: accord_core::FieldPath,
    /// The request writing a value into one record.
    pub write: WriteRequest,
    /// How a record is created for an account, where the vendor allows it.
    pub create: Option<CreateDef>,
    /// What the write request needs that only the vendor knows, read once before the first write.
    pub lookup: Option<Lookup>,
    /// How the stored value is proven after the write.
    pub confirm: Confirm,
}

/// How a write's stored value is proven for the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// The vendor answers with the record: `read_value` of the answer is the proof.
    Answer,
    /// The vendor's answer lacks the record (Zuora's `{"success": true}`): the record is read
    /// again with `read`, and `read_value` of that answer is the proof.
    ReadBack,
}

/// A value a write needs that only the vendor knows: the id of the custom field the settings name
/// (Capsule's field definitions). The connector reads it once, before the first write, into
/// `into`, which the `write` closure holds a clone of; a write never goes out without it.
#[allow(missing_debug_implementations)] // closures
pub struct Lookup {
    pub request: RequestSpec,
    /// Where the value sits in the answer.
    pub value: accord_core::FieldPath,
    /// Said when the answer holds no such value (it names the setting to fix).
    pub missing: String,
    pub into: Arc<std::sync::OnceLock<String>>,
}

/// Builds the request creating a record for an account.
pub type CreateRequest = Box<dyn Fn(&crate::NewRecord) -> RequestSpec + Send + Sync>;

/// How a record is found by the account id it carries, and created.
#[allow(missing_debug_implementations)] // closures
pub struct CreateDef {
    /// The request finding records that carry an account id, and where their list sits.
    pub find: ReadRequest,
    pub found: accord_core::FieldPath,
    /// The id of a found record, within one found.
    pub found_id: accord_core::FieldPath,
    pub create: CreateRequest,
    /// Where the new record's id sits in the answer.
    pub created_id: accord_core::FieldPath,
}

impl std::fmt::Debug for WriteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteDef").field("object", &self.object).field("field", &self.field).finish()
    }
}

impl HttpConnector {
    pub fn new(kind: &'static str, client: HttpClient, streams: Vec<StreamDef>) -> Self {
        let objects = streams.iter().map(|s| s.object.clone()).collect();
        Self {
            kind,
            client: Arc::new(client),
            streams: streams.into_iter().map(Arc::new).collect(),
            objects,
            writes: Vec::new(),
        }
    }

    /// The connector, able to write account ids back into these objects.
    pub fn with_writes(mut self, writes: Vec<WriteDef>) -> Self {
        self.writes = writes;
        self
    }

    fn write_def(&self, object: &str) -> Result<&WriteDef, ConnectorError> {
        self.writes
            .iter()
            .find(|w| w.object == object)
            .ok_or_else(|| ConnectorError::Fatal(format!("{} cannot write into {object}", self.kind)))
    }

    pub fn client(&self) -> &Arc<HttpClient> {
        &self.client
    }
}

impl Connector for HttpConnector {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn objects(&self) -> &[ObjectSpec] {
        &self.objects
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        let def = self
            .streams
            .iter()
            .find(|s| s.object.name == object)
            .ok_or_else(|| ConnectorError::Fatal(format!("{} has no object {object}", self.kind)))?;
        Ok(Box::new(HttpStream::new(self.client.clone(), def.clone(), cursor, full)))
    }

    fn write_back(&self) -> Option<&dyn crate::WriteBack> {
        (!self.writes.is_empty()).then_some(self as &dyn crate::WriteBack)
    }
}

impl crate::WriteBack for HttpConnector {
    fn writable_field(&self, object: &str) -> Option<&accord_core::FieldPath> {
        self.writes.iter().find(|w| w.object == object).map(|w| &w.field)
    }

    fn current<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move {
            let def = self.write_def(object)?;
            let body = self.client.fetch(&(def.read)(native_id), &mut FetchStats::default()).await?;
            Ok(def.read_value.get(&body).and_then(|v| accord_core::id::key_text(v).ok().flatten()))
        })
    }

    fn write<'a>(
        &'a self,
        object: &'a str,
        native_id: &'a str,
        value: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let def = self.write_def(object)?;
            if let Some(lookup) = &def.lookup
                && lookup.into.get().is_none()
            {
                let answer = self.client.fetch(&lookup.request, &mut FetchStats::default()).await?;
                let found = lookup.value.get(&answer).and_then(|v| accord_core::id::key_text(v).ok().flatten());
                let found = found.ok_or_else(|| ConnectorError::Fatal(lookup.missing.clone()))?;
                let _ = lookup.into.set(found);
            }
            let request = (def.write)(native_id, value);
            let answer = match self.client.fetch_or_refusal(&request, &mut FetchStats::default()).await? {
                Ok(fetched) => fetched.body,
                Err(refusal) if refuses_the_value(refusal.status) => {
                    return Err(ConnectorError::Refused(refusal.message));
                }
                Err(refusal) => return Err(ConnectorError::Fatal(refusal.message)),
            };
            let (proof, read_again) = match def.confirm {
                Confirm::Answer => (answer, false),
                Confirm::ReadBack => {
                    (self.client.fetch(&(def.read)(native_id), &mut FetchStats::default()).await?, true)
                }
            };
            let stored = def.read_value.get(&proof).and_then(|v| accord_core::id::key_text(v).ok().flatten());
            match (stored, read_again) {
                (Some(v), false) if v == value => Ok(format!("{} {}: stored", request.method, request.path)),
                (Some(v), true) if v == value => {
                    Ok(format!("{} {}: stored (read back: {v:?})", request.method, request.path))
                }
                (other, false) => Err(ConnectorError::Fatal(format!(
                    "{} {} answered without the value written (it holds {other:?})",
                    request.method, request.path
                ))),
                (other, true) => Err(ConnectorError::Fatal(format!(
                    "{} {} was accepted, but the record read back holds {other:?}",
                    request.method, request.path
                ))),
            }
        })
    }

    fn can_create(&self, object: &str) -> bool {
        self.writes.iter().any(|w| w.object == object && w.create.is_some())
    }

    fn find<'a>(
        &'a self,
        object: &'a str,
        account_id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move {
            let def = self.create_def(object)?;
            let body = self.client.fetch(&(def.find)(account_id), &mut FetchStats::default()).await?;
            let found = def.found.get(&body).and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(found.iter().find_map(|r| def.found_id.get(r).and_then(|v| accord_core::id::key_text(v).ok().flatten())))
        })
    }

    fn create<'a>(
        &'a self,
        object: &'a str,
        account: &'a crate::NewRecord,
    ) -> futures::future::BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let def = self.create_def(object)?;
            let request = (def.create)(account);
            let answer = self.client.fetch(&request, &mut FetchStats::default()).await?;
            def.created_id.get(&answer).and_then(|v| accord_core::id::key_text(v).ok().flatten()).ok_or_else(|| {
                ConnectorError::Fatal(format!(
                    "{} {} answered without the new record's id",
                    request.method, request.path
                ))
            })
        })
    }
}

/// Whether a write refused with `status` was refused for its value or its record (a 2xx with
/// an error body, as Zuora answers; 400, 409, 422), rather than for the request as a whole.
/// Such a refusal is reported as one and never retried.
fn refuses_the_value(status: reqwest::StatusCode) -> bool {
    status.is_success() || matches!(status.as_u16(), 400 | 409 | 422)
}

impl HttpConnector {
    fn create_def(&self, object: &str) -> Result<&CreateDef, ConnectorError> {
        self.write_def(object)?
            .create
            .as_ref()
            .ok_or_else(|| ConnectorError::Fatal(format!("{} cannot create {object}", self.kind)))
    }
}
