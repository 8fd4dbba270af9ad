//! XML documents as JSON values, in the typed-element convention of Braintree's server API (the
//! "XML gateway"): an element with `type="array"` is the list of its children (their names
//! aside), `nil="true"` is `null`, `type="boolean"` a boolean and `type="integer"` a number; an
//! element with child elements is an object keyed by the children's names (a name repeated makes
//! a list), and any other element is its text. Decimals and dates stay text, for whoever reads
//! them to read exactly. A document is `{root name: value}`. [`write`] is the way back.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XML at byte {position}: {problem}")]
pub struct XmlError {
    pub position: u64,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Array,
    Nil,
    Boolean,
    Integer,
}

struct Open {
    name: String,
    kind: Kind,
    children: Vec<(String, Value)>,
    text: String,
}

fn open(e: &BytesStart<'_>) -> Result<Open, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut kind = Kind::Plain;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("<{name}>: {err}"))?;
        let value =
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|err| format!("<{name}>: {err}"))?;
        match (attr.key.as_ref(), value.as_ref()) {
            (b"nil", "true") => kind = Kind::Nil,
            (b"type", "array") if kind != Kind::Nil => kind = Kind::Array,
            (b"type", "boolean") if kind != Kind::Nil => kind = Kind::Boolean,
            (b"type", "integer") if kind != Kind::Nil => kind = Kind::Integer,
            _ => {}
        }
    }
    Ok(Open { name, kind, children: Vec::new(), text: String::new() })
}

fn value(o: Open) -> Result<Value, String> {
    let text = o.text.trim();
    Ok(match o.kind {
        Kind::Nil => Value::Null,
        Kind::Array => Value::Array(o.children.into_iter().map(|(_, v)| v).collect()),
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => return Err(format!("<{}> is typed boolean but holds {other:?}", o.name)),
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(format!("<{}> is typed integer but holds {text:?}", o.name)),
        },
        Kind::Plain if o.children.is_empty() => Value::String(o.text),
        Kind::Plain => {
            if !text.is_empty() {
                return Err(format!("<{}> mixes text ({text:?}) with elements", o.name));
            }
            let mut map = Map::new();
            for (k, v) in o.children {
                match map.get_mut(&k) {
                    Some(Value::Array(list)) => list.push(v),
                    Some(first) => *first = Value::Array(vec![first.take(), v]),
                    None => {
                        map.insert(k, v);
                    }
                }
            }
            Value::Object(map)
        }
    })
}

/// Reads a document: `{root name: value}`.
pub fn parse(text: &str) -> Result<Value, XmlError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        let position = reader.buffer_position();
        let fail = |problem: String| XmlError { position, problem };
        let event = reader.read_event().map_err(|e| fail(e.to_string()))?;
        let closed = match event {
            Event::Start(e) => {
                stack.push(open(&e).map_err(fail)?);
                None
            }
            Event::Empty(e) => Some(open(&e).map_err(fail)?),
            Event::End(_) => Some(stack.pop().ok_or_else(|| fail("a closing tag without its opening".into()))?),
            Event::Text(t) => {
                let t = t.decode().map_err(|e| fail(e.to_string()))?;
                if let Some(o) = stack.last_mut() {
                    o.text.push_str(&t);
                }
                None
            }
            Event::CData(c) => {
                let t = c.decode().map_err(|e| fail(e.to_string()))?;
                if let Some(o) = stack.last_mut() {
                    o.text.push_str(&t);
                }
                None
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| fail(e.to_string()))? {
                    Some(c) => c,
                    None => match r.decode().map_err(|e| fail(e.to_string()))?.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(fail(format!("unknown entity &{other};"))),
                    },
                };
                if let Some(o) = stack.last_mut() {
                    o.text.push(c);
                }
                None
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(o) = closed {
            let name = o.name.clone();
            let v = value(o).map_err(fail)?;
            match stack.last_mut() {
                Some(parent) => parent.children.push((name, v)),
                None if root.is_none() => root = Some(Value::Object(Map::from_iter([(name, v)]))),
                None => return Err(fail(format!("a second root element <{name}>"))),
            }
        }
    }
    if let Some(o) = stack.last() {
        return Err(XmlError {
            position: reader.buffer_position(),
            problem: format!("the document ends inside <{}>", o.name),
        });
    }
    root.ok_or_else(|| XmlError { position: 0, problem: "no element".into() })
}

/// Writes `value` as the document `<root>`: objects as child elements, arrays as `type="array"`
/// with each item named by `item(array's name)`, `null` as `nil="true"`, booleans and integers
/// typed, strings (and other numbers) as escaped text.
pub fn write(root: &str, value: &Value, item: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    element(&mut out, root, value, item);
    out
}

fn element(out: &mut String, name: &str, value: &Value, item: &dyn Fn(&str) -> String) {
    match value {
        Value::Null => out.push_str(&format!("<{name} nil=\"true\"/>")),
        Value::Bool(b) => out.push_str(&format!("<{name} type=\"boolean\">{b}</{name}>")),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&format!("<{name} type=\"integer\">{n}</{name}>")),
        Value::Number(n) => out.push_str(&format!("<{name}>{n}</{name}>")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(s.as_str()))),
        Value::Array(list) => {
            out.push_str(&format!("<{name} type=\"array\">"));
            let child = item(name);
            for v in list {
                element(out, &child, v, item);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v, item);
            }
            out.push_str(&format!("</{name}>"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_elements_read_as_json() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<search-results>
  <page-size type="integer">50</page-size>
  <ids type="array">
    <item>a&amp;b</item>
    <item>c&#x41;</item>
  </ids>
  <price>10.50</price>
  <never-expires type="boolean">true</never-expires>
  <description nil="true"/>
  <empty type="array"/>
  <name></name>
</search-results>"#;
        assert_eq!(
            parse(doc).unwrap(),
            json!({"search-results": {
                "page-size": 50, "ids": ["a&b", "cA"], "price": "10.50", "never-expires": true,
                "description": null, "empty": [], "name": ""
            }})
        );
    }

    #[test]
    fn bad_documents_say_where() {
        for bad in ["<a><b>1</a>", "<a>", "<a type=\"integer\">x</a>", "<a>1</a><b/>", "", "<a>t<b/></a>"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.problem.is_empty(), "{bad}: {e}");
        }
    }

    #[test]
    fn writing_and_reading_round_trip() {
        let v = json!({"ids": ["1", "<2>"], "n": 3, "ok": false, "none": null, "nested": {"x": "y"}});
        let text = write("search", &v, &|_| "item".into());
        assert!(text.contains("<ids type=\"array\"><item>1</item><item>&lt;2&gt;</item></ids>"), "{text}");
        assert_eq!(parse(&text).unwrap(), json!({"search": v}));
    }
}
