//! The connector runtime for HTTP APIs: a client (auth, rate limit, retries) and declarative
//! streams interpreted by one runtime. Vendor modules describe their streams as data.

pub mod client;
pub mod limiter;
pub mod rotation;
pub mod source;
pub mod stream;

use std::sync::Arc;

use serde_json::Value;

pub use client::{Auth, Fetched, HttpClient, Refusal, RequestSpec, RetryPolicy, Vendor, Verdict};
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
}

impl HttpConnector {
    pub fn new(kind: &'static str, client: HttpClient, streams: Vec<StreamDef>) -> Self {
        let objects = streams.iter().map(|s| s.object.clone()).collect();
        Self { kind, client: Arc::new(client), streams: streams.into_iter().map(Arc::new).collect(), objects }
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
}
