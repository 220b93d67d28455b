//! The two wire protocols' shapes, apart from their mapping (which lives in [`crate::openai`]
//! and [`crate::anthropic`]), over the small JSON tree of [`json`] (no serde: see there why).
//! Request bodies are put together from one builder function per JSON shape and a `Request`
//! whose `into_json` writes the top level; stream events are read from JSON with `parse` into
//! types that own their text.
//!
//! Reading follows serde's rules for the fields a type knows: absent or `null` is `None` (or
//! the default), a value of another type or a field given twice is an error; unknown fields
//! are ignored, and unknown event or block types read as `Unknown`, so upstream additions do
//! not break streams. (serde also reads a JSON array as a struct, positionally; that is not
//! carried over.)

pub mod anthropic;
pub mod decimal;
pub mod json;
pub mod openai;

use json::{Map, Value};

/// Why a wire value could not be read.
pub type WireError = String;

/// The first error met reading a wire value.
///
/// A field of the wrong type (or a required one missing) is recorded here, the first one only,
/// and reads as absent, so a reader goes on without unwinding at every field; [`Reader::done`]
/// then returns the error. (One exit instead of one per field, and no generic wrappers: early
/// returns and their clean-up cost kilobytes in the stream mappers.)
#[derive(Default)]
pub(crate) struct Reader(Option<WireError>);

impl Reader {
    /// `value` read, or the first error met reading it.
    pub fn done<T>(self, value: T) -> Result<T, WireError> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    fn fail(&mut self, error: WireError) {
        self.0.get_or_insert(error);
    }
}

/// An object of the wire, whose known fields are taken out one by one.
pub(crate) struct Fields(Map);

impl Fields {
    /// The object a stream event's data holds.
    pub fn parse(data: &str) -> Result<Fields, WireError> {
        match json::parse(data).map_err(|e| e.to_string())? {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(wrong("the event", "an object", &other)),
        }
    }

    /// The field `key`, present or not; given twice, it is an error (as serde has it).
    fn pull(&mut self, r: &mut Reader, key: &str) -> Option<Value> {
        let (value, count) = self.0.remove_counted(key);
        if count > 1 {
            r.fail(format!("duplicate field `{key}`"));
        }
        value
    }

    /// The field `key`; `None` when absent or `null`.
    pub fn take(&mut self, r: &mut Reader, key: &str) -> Option<Value> {
        self.pull(r, key).filter(|v| !v.is_null())
    }

    /// The field `key`, which must be present (it may be `null`).
    pub fn required(&mut self, r: &mut Reader, key: &str) -> Option<Value> {
        let value = self.pull(r, key);
        if value.is_none() {
            r.fail(missing(key));
        }
        value
    }

    /// A string field.
    pub fn string(&mut self, r: &mut Reader, key: &str) -> Option<String> {
        let value = self.take(r, key)?;
        text(r, key, value)
    }

    /// A string field that must be present (`null` is not a string).
    pub fn required_string(&mut self, r: &mut Reader, key: &str) -> String {
        let value = self.required(r, key);
        value.and_then(|v| text(r, key, v)).unwrap_or_default()
    }

    /// A string field that defaults to empty when absent (`null` is not a string).
    pub fn string_or_empty(&mut self, r: &mut Reader, key: &str) -> String {
        let value = self.pull(r, key);
        value.and_then(|v| text(r, key, v)).unwrap_or_default()
    }

    /// A whole, non-negative number field.
    pub fn u64(&mut self, r: &mut Reader, key: &str) -> Option<u64> {
        let value = self.take(r, key)?;
        let n = value.as_u64();
        if n.is_none() {
            r.fail(wrong(key, "a whole number", &value));
        }
        n
    }

    /// A whole, non-negative number field that fits in `u32`.
    pub fn u32(&mut self, r: &mut Reader, key: &str) -> Option<u32> {
        let n = self.u64(r, key)?;
        let small = u32::try_from(n).ok();
        if small.is_none() {
            r.fail(format!("`{key}` is out of range: {n}"));
        }
        small
    }

    /// A `u32` field that must be present (0 when it is not, the error recorded).
    pub fn required_u32(&mut self, r: &mut Reader, key: &str) -> u32 {
        if self.0.get(key).is_none_or(Value::is_null) {
            r.fail(missing(key));
        }
        self.u32(r, key).unwrap_or(0)
    }

    /// An object field.
    pub fn object(&mut self, r: &mut Reader, key: &str) -> Option<Fields> {
        let value = self.take(r, key)?;
        nested(r, key, value)
    }

    /// An object field that must be present (`null` is not an object).
    pub fn required_object(&mut self, r: &mut Reader, key: &str) -> Option<Fields> {
        let value = self.required(r, key)?;
        nested(r, key, value)
    }

    /// An array field of objects.
    pub fn array(&mut self, r: &mut Reader, key: &str) -> Option<Vec<Fields>> {
        let items = match self.take(r, key)? {
            Value::Array(items) => items,
            other => {
                r.fail(wrong(key, "an array", &other));
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            out.push(nested(r, key, v)?);
        }
        Some(out)
    }
}

/// `value` as a string.
fn text(r: &mut Reader, key: &str, value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        other => {
            r.fail(wrong(key, "a string", &other));
            None
        }
    }
}

/// `value` as an object.
fn nested(r: &mut Reader, key: &str, value: Value) -> Option<Fields> {
    match value {
        Value::Object(map) => Some(Fields(map)),
        other => {
            r.fail(wrong(key, "an object", &other));
            None
        }
    }
}

/// "invalid type: `key` must be …, found …".
fn wrong(key: &str, want: &str, found: &Value) -> WireError {
    format!(
        "invalid type: `{key}` must be {want}, found {}",
        found.kind()
    )
}

/// "missing field `key`".
fn missing(key: &str) -> WireError {
    format!("missing field `{key}`")
}

/// An object of string members, to which others may be added.
pub(crate) fn text_object(members: &[(&str, &str)]) -> Map {
    let mut map = Map::new();
    for (key, value) in members {
        json::put(&mut map, key, Value::from(*value));
    }
    map
}

/// Sets `map[key]` when there is a value.
pub(crate) fn put_some(map: &mut Map, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        json::put(map, key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::{anthropic, openai};

    #[test]
    fn known_fields_follow_serde_rules() {
        use anthropic::StreamEvent;
        // Repeated, of the wrong type, out of range: errors. Unknown fields, null: ignored.
        assert!(openai::Chunk::parse(r#"{"id":"a","id":"b"}"#).is_err());
        assert!(openai::Chunk::parse(r#"{"id":5}"#).is_err());
        assert!(openai::Chunk::parse(r#"{"choices":[{"index":4294967296}]}"#).is_err());
        assert!(openai::Chunk::parse(r#"{"choices":[{"index":1.0}]}"#).is_err());
        assert!(openai::Chunk::parse(r#"{"choices":[3]}"#).is_err());
        assert!(openai::Chunk::parse(r#"{"x":1,"x":2,"id":null,"usage":null}"#).is_ok());
        assert!(StreamEvent::parse(r#"{"type":"ping","type":"ping"}"#).is_err());
        assert!(StreamEvent::parse(r#"{"type":"content_block_stop"}"#).is_err());
        assert!(StreamEvent::parse(r#"{"type":"error"}"#).is_err());
        assert!(StreamEvent::parse(r#"{"type":"message_start","message":{"id":null}}"#).is_err());
        assert!(matches!(
            StreamEvent::parse(r#"{"type":"future","index":"x","index":1}"#),
            Ok(StreamEvent::Unknown)
        ));
        assert!(matches!(
            StreamEvent::parse(r#"{"type":"error","error":null}"#),
            Ok(StreamEvent::Error { .. })
        ));
    }
}
