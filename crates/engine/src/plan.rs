//! The plan: the validated config joined with each connector's objects, resolved into what the
//! pipeline needs per stream (link spec, field mapping, whether it is the System of Record).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use accord_connectors::{Connector, ObjectSpec};
use accord_core::config::AlsoExistsIn;
use accord_core::filter::Filter;
use accord_core::{Config, ConfigError, FieldMapping, FieldPath, IdMapRef, LinkRule, ObjectKind};
use accord_link::LinkSpec;

/// The source name of records posted to the Account API.
pub const API_SOURCE: &str = "api";

/// One object of one source, ready for the pipeline.
#[derive(Debug)]
pub struct StreamPlan {
    pub source: String,
    pub spec: ObjectSpec,
    pub link: LinkSpec,
    /// Set for streams whose records are accounts: the System of Record, and the Account API.
    pub accounts: Option<Arc<AccountRules>>,
    /// Linked records of this stream go into the lookup index (other records can point at them).
    pub indexed: bool,
    /// Where each typed field is read, in field order (for the SOR: the SOR's mapping).
    pub field_paths: Vec<FieldPath>,
}

impl StreamPlan {
    /// True for streams whose records are accounts.
    pub fn creates_accounts(&self) -> bool {
        self.accounts.is_some()
    }

    pub fn object(&self) -> &str {
        &self.spec.name
    }

    pub fn kind(&self) -> ObjectKind {
        self.spec.kind
    }

    /// `source/object`: the id map this stream's records feed.
    pub fn map_name(&self) -> String {
        format!("{}/{}", self.source, self.spec.name)
    }
}

/// How a stream's records become accounts.
#[derive(Debug)]
pub struct AccountRules {
    /// The field holding our account_id.
    pub account_id: FieldPath,
    /// Only records matching this become active accounts.
    pub filter: Option<Filter>,
    /// Only records found in another object become active accounts.
    pub also_exists_in: Option<AlsoExistsIn>,
}

/// The System of Record, resolved.
#[derive(Debug)]
pub struct SorPlan {
    pub source: String,
    pub object: String,
    pub rules: Arc<AccountRules>,
}

/// A source with its connector and streams, in reading order.
#[derive(Debug)]
pub struct SourcePlan {
    pub name: String,
    pub connector: Box<dyn Connector>,
    pub streams: Vec<Arc<StreamPlan>>,
}

/// Everything the hub reads, in sync order.
#[derive(Debug)]
pub struct Plan {
    pub sources: Vec<SourcePlan>,
    pub sor: SorPlan,
    streams: BTreeMap<(String, String), Arc<StreamPlan>>,
}

impl Plan {
    /// Resolves the config with the connector registry.
    pub fn build(config: &Config) -> Result<Self, ConfigError> {
        let mut built = Vec::new();
        for (name, source) in &config.raw.sources {
            let connector = accord_connectors::open_source(name, source, config)?;
            built.push((name.clone(), connector));
        }
        Self::from_connectors(config, built)
    }

    /// Resolves the config with connectors built elsewhere (tests, the sandbox, the server).
    pub fn from_connectors(
        config: &Config,
        connectors: Vec<(String, Box<dyn Connector>)>,
    ) -> Result<Self, ConfigError> {
        let sor_cfg = config.sor();
        let sor_rules = Arc::new(AccountRules {
            account_id: sor_cfg.account_id.clone(),
            filter: config.sor_filter.clone(),
            also_exists_in: sor_cfg.also_exists_in.clone(),
        });
        let referenced = referenced_maps(&connectors);
        let mut streams = BTreeMap::new();
        let mut sources = Vec::new();
        let mut sor_spec: Option<ObjectSpec> = None;
        for (name, connector) in connectors {
            let mut plans = Vec::new();
            for spec in connector.objects() {
                let is_sor = config.is_sor(&name, &spec.name);
                if is_sor {
                    if spec.kind != ObjectKind::Account {
                        return Err(ConfigError::new(
                            "system_of_record.object",
                            format!("{}/{} holds {} records, not accounts", name, spec.name, spec.kind.name()),
                        ));
                    }
                    sor_spec = Some(spec.clone());
                } else if spec.link.is_empty() {
                    return Err(ConfigError::new(
                        format!("sources.{name}"),
                        format!("object {:?} has no link rules", spec.name),
                    ));
                }
                let indexed = matches!(spec.kind, ObjectKind::User | ObjectKind::Contact)
                    || referenced.contains(&(name.clone(), spec.name.clone()));
                let mut mapping = spec.fields.clone();
                if is_sor {
                    if let Some(p) = &sor_cfg.name {
                        mapping.0.insert("name".into(), p.clone());
                    }
                    if let Some(p) = &sor_cfg.join_date {
                        mapping.0.insert("join_date".into(), p.clone());
                    }
                }
                let plan = Arc::new(StreamPlan {
                    field_paths: mapping.paths(spec.kind),
                    source: name.clone(),
                    link: LinkSpec::new(name.clone(), spec.link.clone(), spec.normalize.clone()),
                    spec: spec.clone(),
                    accounts: is_sor.then(|| sor_rules.clone()),
                    indexed,
                });
                streams.insert((name.clone(), spec.name.clone()), plan.clone());
                plans.push(plan);
            }
            // The SOR object is read first within its source.
            plans.sort_by_key(|p| !p.creates_accounts());
            sources.push(SourcePlan { name, connector, streams: plans });
        }
        sor_spec.ok_or_else(|| {
            ConfigError::new(
                "system_of_record.object",
                format!("source {:?} has no object {:?}", sor_cfg.source, sor_cfg.object),
            )
        })?;
        if let Some(also) = &sor_cfg.also_exists_in
            && !streams.contains_key(&(also.source.clone(), also.object.clone()))
        {
            return Err(ConfigError::new(
                "system_of_record.also_exists_in",
                format!("source {:?} has no object {:?}", also.source, also.object),
            ));
        }
        check_children_rules(&streams)?;
        // Sync order: the source the SOR filter depends on, then the SOR, then the rest by name.
        let first = sor_cfg.also_exists_in.as_ref().map(|a| a.source.clone());
        sources.sort_by_key(|s| {
            let rank = if Some(&s.name) == first.as_ref() && s.name != sor_cfg.source {
                0
            } else if s.name == sor_cfg.source {
                1
            } else {
                2
            };
            (rank, s.name.clone())
        });
        Ok(Self {
            sources,
            sor: SorPlan { source: sor_cfg.source.clone(), object: sor_cfg.object.clone(), rules: sor_rules },
            streams,
        }
        .with_api_streams(config))
    }

    /// Adds the streams of the Account API (`api/accounts`, `api/users`, `api/contacts`) and of
    /// each Event API source (`<source>/events`, `<source>/users` for identifyUser). They have no
    /// connector: the server feeds them. They are part of every plan so that their quarantined
    /// records re-link like any other.
    fn with_api_streams(mut self, config: &Config) -> Self {
        let path = |p: &str| FieldPath::parse(p).expect("built-in path");
        let field = |f: &str| LinkRule::Field { field: path(f) };
        let stream = |source: &str, name: &str, kind: ObjectKind, native: Option<&str>, link: Vec<LinkRule>| {
            let spec = ObjectSpec {
                name: name.into(),
                kind,
                native_id: native.map(path),
                link: link.clone(),
                normalize: vec![],
                fields: FieldMapping::default(),
            };
            StreamPlan {
                source: source.into(),
                field_paths: spec.fields.paths(kind),
                link: LinkSpec::new(source, link, vec![]),
                accounts: None,
                indexed: matches!(kind, ObjectKind::User | ObjectKind::Contact),
                spec,
            }
        };
        let mut accounts = stream(API_SOURCE, "accounts", ObjectKind::Account, Some("account_id"), vec![]);
        accounts.accounts =
            Some(Arc::new(AccountRules { account_id: path("account_id"), filter: None, also_exists_in: None }));
        self.add_stream(accounts);
        self.add_stream(stream(API_SOURCE, "users", ObjectKind::User, Some("user_id"), vec![field("account_id")]));
        self.add_stream(stream(
            API_SOURCE,
            "contacts",
            ObjectKind::Contact,
            Some("contact_id"),
            vec![field("account_id")],
        ));
        for es in &config.raw.server.event_sources {
            let user_map = LinkRule::UserMap { field: path("user_id") };
            self.add_stream(stream(&es.source, "events", ObjectKind::Event, None, vec![field("account_id"), user_map]));
            self.add_stream(stream(&es.source, "users", ObjectKind::User, Some("user_id"), vec![field("account_id")]));
        }
        self
    }

    pub fn stream(&self, source: &str, object: &str) -> Option<&Arc<StreamPlan>> {
        self.streams.get(&(source.to_owned(), object.to_owned()))
    }

    pub fn streams(&self) -> impl Iterator<Item = &Arc<StreamPlan>> {
        self.streams.values()
    }

    /// Registers a stream that has no connector (the Account and Event APIs).
    pub fn add_stream(&mut self, plan: StreamPlan) -> Arc<StreamPlan> {
        let plan = Arc::new(plan);
        self.streams.insert((plan.source.clone(), plan.spec.name.clone()), plan.clone());
        plan
    }

    /// The record kinds whose links the index must hold.
    pub fn index_kinds(&self) -> Vec<ObjectKind> {
        let mut kinds: Vec<ObjectKind> = self.streams().filter(|s| s.indexed).map(|s| s.kind()).collect();
        kinds.extend([ObjectKind::User, ObjectKind::Contact]);
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The kinds of the streams' records that can re-link (every kind but accounts and events).
    pub fn relinkable_kinds(&self) -> Vec<ObjectKind> {
        let mut kinds: Vec<ObjectKind> = self
            .streams()
            .map(|s| s.kind())
            .filter(|k| !matches!(k, ObjectKind::Account | ObjectKind::Event))
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// A `children` rule reads the contacts of its own source that link by a direct rule. So that
/// "links by a direct rule" never depends on the organization's own link (which would let the two
/// answers chase each other), the contacts' direct rules must all come before their `parent`,
/// `children` and `email` rules.
fn check_children_rules(streams: &BTreeMap<(String, String), Arc<StreamPlan>>) -> Result<(), ConfigError> {
    for ((source, object), plan) in streams {
        for (i, rule) in plan.spec.link.iter().enumerate() {
            let LinkRule::Children { object: child, .. } = rule else { continue };
            let at = format!("sources.{source}.objects.{object}.link[{i}]");
            let Some(child_plan) = streams.get(&(source.clone(), child.clone())) else {
                return Err(ConfigError::new(at, format!("source {source:?} has no object {child:?}")));
            };
            if child_plan.kind() != ObjectKind::Contact {
                return Err(ConfigError::new(
                    at,
                    format!(
                        "a children rule reads contacts (their organization_id); {source}/{child} holds {} records",
                        child_plan.kind().name()
                    ),
                ));
            }
            let rules = &child_plan.spec.link;
            if let Some(first_indirect) = rules.iter().position(|r| !r.kind().is_direct())
                && let Some(late) = rules[first_indirect..].iter().find(|r| r.kind().is_direct())
            {
                return Err(ConfigError::new(
                    at,
                    format!(
                        "{source}/{child} lists {} after {}: a children rule needs the contacts' direct rules \
                         (field, native_id, support_id, user_map, domain) before their parent, children and email rules",
                        late.describe(),
                        rules[first_indirect].describe()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The (source, object) pairs some rule points at: their linked records feed id maps.
fn referenced_maps(connectors: &[(String, Box<dyn Connector>)]) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for (name, c) in connectors {
        for spec in c.objects() {
            for rule in &spec.link {
                match rule {
                    LinkRule::Parent { object, .. } | LinkRule::Children { object, .. } => {
                        out.insert((name.clone(), object.clone()));
                    }
                    LinkRule::NativeId { map: IdMapRef::Object { source, object }, .. } => {
                        out.insert((source.clone(), object.clone()));
                    }
                    _ => {}
                }
            }
        }
    }
    out
}
