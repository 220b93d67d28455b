//! One small JSON tree with its readers and its writer: strict JSON (RFC 8259) for what the
//! upstream sends, JSON5 (<https://spec.json5.org>) for the configuration, compact JSON for
//! request bodies.
//!
//! Why not serde: derived (de)serializers are monomorphized once per type and per format, and
//! in the WebAssembly component that came to more than 200 KB; this module is one parser and
//! one printer.
//!
//! - **Objects** keep their members in order and are written sorted by key; a repeated key
//!   keeps its last value.
//! - **Numbers** keep their text, checked against the grammar, so a number passed through
//!   (a tool schema, `extra`) is written back as it came. A fraction or exponent must fit in
//!   an `f64` (JSON: an error otherwise; JSON5: `Infinity`, `NaN` and overflow read as `null`).
//! - **Strict JSON** rejects control characters in strings, lone surrogates, trailing commas,
//!   leading zeros and anything after the value but white space.
//! - **JSON5** adds comments, single quotes, identifier keys, trailing commas, hexadecimal and
//!   signed numbers, `Infinity`, `NaN`, more escapes and white space. Outside ASCII, any
//!   character but white space may be part of an identifier key: every valid key reads as
//!   the spec says, and a few invalid ones (`{ ☃: 1 }`) are read too, which spares the
//!   Unicode category tables (and a key the provider does not know is ignored anyway).
//! - **Errors** carry a message and, when they point at a character, its line and column as
//!   editors count them (from 1; a line ends at `\n`, `\r`, `\r\n`, U+2028 or U+2029). An
//!   unexpected end points at the bracket left open.
//! - Nesting deeper than [`MAX_DEPTH`] is an error, so hostile text cannot exhaust the stack.

use core::fmt::{self, Write as _};

use crate::decimal::{parse_f64, shortest_f32};

/// Deepest nesting of arrays and objects read as JSON.
pub const MAX_DEPTH: usize = 128;

/// The message of nesting deeper than allowed.
pub const TOO_DEEP: &str = "nested too deeply";

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its JSON text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

/// A number, kept as its text (valid JSON, or the JSON5 literal it was read from).
#[derive(Debug, Clone, PartialEq)]
pub struct Number(String);

/// An object's members, in the order given; where a key repeats, the last one counts.
///
/// A list rather than a tree: objects on the wire are small, and a `BTreeMap` costs about
/// 10 KB of code in the component. Lookups scan from the end; writing sorts by key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    /// No members.
    pub fn new() -> Map {
        Map(Vec::new())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing any earlier value.
    pub fn insert(&mut self, key: String, value: Value) {
        self.0.push((key, value));
    }

    /// Removes `key`, returning its (last) value and how many times it was given; one pass,
    /// however often it repeats.
    pub fn remove_counted(&mut self, key: &str) -> (Option<Value>, usize) {
        let (mut found, mut count, mut kept) = (None, 0, 0);
        for i in 0..self.0.len() {
            if self.0[i].0 == key {
                found = Some(core::mem::take(&mut self.0[i].1));
                count += 1;
            } else {
                self.0.swap(kept, i);
                kept += 1;
            }
        }
        self.0.truncate(kept);
        (found, count)
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets every member of `other`, after the existing ones.
    pub fn extend(&mut self, other: Map) {
        self.0.extend(other.0);
    }

    /// The members sorted by key, each key once with its last value.
    fn sorted(&self) -> Vec<&(String, Value)> {
        let members = &self.0;
        let order = sorted_positions(members.len(), &|a, b| members[a].0 < members[b].0);
        let mut out = Vec::with_capacity(order.len());
        for (i, &at) in order.iter().enumerate() {
            let repeated = order
                .get(i + 1)
                .is_some_and(|&next| members[next].0 == members[at].0);
            if !repeated {
                out.push(&members[at]);
            }
        }
        out
    }
}

/// The positions `0..n` sorted by `less`, equal ones in their order: a heap sort of indices,
/// one small function for every sort of the crate (the standard library's sorts cost a few
/// kilobytes per type sorted).
pub(crate) fn sorted_positions(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    // (item, position): a total order, so heap sort's instability does not show.
    let less = |a: usize, b: usize| less(a, b) || (!less(b, a) && a < b);
    let mut order: Vec<usize> = (0..n).collect();
    for start in (0..n / 2).rev() {
        sift_down(&mut order, start, n, &less);
    }
    for end in (1..n).rev() {
        order.swap(0, end);
        sift_down(&mut order, 0, end, &less);
    }
    order
}

/// Heap sort's step: moves `v[root]` down the max-heap `v[..end]`.
fn sift_down(v: &mut [usize], mut root: usize, end: usize, less: &dyn Fn(usize, usize) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(v[child], v[child + 1]) {
            child += 1;
        }
        if !less(v[root], v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(map) => map.get(key),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The members of an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The items of an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// A number written as a whole number that fits in `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.0.parse().ok(),
            _ => None,
        }
    }

    /// A number, as the nearest `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => parse_f64(&n.0),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// `"a string"`, `"an array"`, … for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Number(Number(n.to_string()))
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::Object(map)
    }
}

/// Sets `map[key]`.
pub fn put(map: &mut Map, key: &str, value: Value) {
    map.insert(key.to_owned(), value);
}

/// An `f32` as the shortest decimal that reads back as the same `f32` (of two equally near,
/// the greater, as `f32`'s `Display` picks), written as JSON writes an `f64`: `0.7`, `1.0`,
/// `0.00001`, `1e-6`, `1.5e+20`. `None` when not finite.
pub fn f32_number(value: f32) -> Option<Value> {
    if !value.is_finite() {
        return None;
    }
    let mut text = String::from(if value.is_sign_negative() { "-" } else { "" });
    if value == 0.0 {
        text.push_str("0.0");
        return Some(Value::Number(Number(text)));
    }
    let (mut digits, mut exponent) = shortest_f32(value.abs());
    while digits.is_multiple_of(10) {
        digits /= 10;
        exponent += 1;
    }
    let digits = digits.to_string();
    let last = digits.len() as i32 - 1;
    // value = d.ddd × 10^point; written plainly from 10^-5 to 10^15, else with an exponent.
    let point = exponent + last;
    let scientific = !(-5..=15).contains(&point);
    let shift = if scientific { point } else { 0 };
    // The weights written, from 10^top down to 10^bottom (a fraction digit at least when plain).
    let top = (point - shift).max(0);
    let bottom = (point - shift - last).min(if scientific { 0 } else { -1 });
    for weight in (bottom..=top).rev() {
        let digit = usize::try_from(point - shift - weight)
            .ok()
            .and_then(|i| digits.as_bytes().get(i));
        text.push(digit.map_or('0', |&d| char::from(d)));
        if weight == 0 && bottom < 0 {
            text.push('.');
        }
    }
    if scientific {
        text.push_str(if point < 0 { "e-" } else { "e+" });
        text.push_str(&point.unsigned_abs().to_string());
    }
    Some(Value::Number(Number(text)))
}

/// Compact JSON, as request bodies are sent.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(true) => f.write_str("true"),
            Value::Bool(false) => f.write_str("false"),
            Value::Number(n) => f.write_str(&n.0),
            Value::String(s) => write_string(f, s),
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    item.fmt(f)?;
                }
                f.write_char(']')
            }
            Value::Object(map) => {
                f.write_char('{')?;
                for (i, (key, value)) in map.sorted().into_iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, key)?;
                    f.write_char(':')?;
                    value.fmt(f)?;
                }
                f.write_char('}')
            }
        }
    }
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    f.write_char('"')?;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        if short.is_empty() {
            f.write_str("\\u00")?;
            f.write_char(char::from(HEX[usize::from(b >> 4)]))?;
            f.write_char(char::from(HEX[usize::from(b & 15)]))?;
        } else {
            f.write_str(short)?;
        }
        start = i + 1;
    }
    f.write_str(&s[start..])?;
    f.write_char('"')
}

/// Why a text is not JSON (or JSON5), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, lowercase.
    pub what: &'static str,
    /// Line and column (from 1) of the offending character; `None` for an unexpected end
    /// outside any bracket.
    pub position: Option<(usize, usize)>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        if let Some((line, column)) = self.position {
            write!(f, " at line {line} column {column}")?;
        }
        Ok(())
    }
}

/// Reads strict JSON.
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    Parser::new(text, false, MAX_DEPTH).document()
}

/// Reads strict JSON from bytes, which must be UTF-8.
pub fn parse_slice(bytes: &[u8]) -> Result<Value, SyntaxError> {
    match core::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(SyntaxError {
            what: "invalid UTF-8",
            position: Some(position(&String::from_utf8_lossy(bytes), e.valid_up_to())),
        }),
    }
}

/// Reads JSON5, nested at most `max_depth` deep (an error at the first bracket beyond).
pub fn parse_json5(text: &str, max_depth: usize) -> Result<Value, SyntaxError> {
    Parser::new(text, true, max_depth).document()
}

/// Line and column (from 1) of the character at byte `offset`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    let mut chars = text.get(..offset).unwrap_or(text).chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// A fault: the message, and the byte offset it points at (`None`: an unexpected end).
type Fault = (&'static str, Option<usize>);

const INVALID_ESCAPE: &str = "invalid escape sequence";

/// A recursive-descent reader over the text's bytes.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    json5: bool,
    /// Arrays and objects open.
    depth: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, json5: bool, max_depth: usize) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            json5,
            depth: 0,
            max_depth,
        }
    }

    /// One value and nothing after it but white space.
    fn document(mut self) -> Result<Value, SyntaxError> {
        let result = self.value().and_then(|value| {
            self.skip_space()?;
            match self.peek() {
                None => Ok(value),
                Some(_) => Err(self.fault("trailing characters")),
            }
        });
        result.map_err(|(what, at)| SyntaxError {
            what,
            position: at.map(|at| position(self.text, at)),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.text.get(self.pos..)?.chars().next()
    }

    /// A fault at the current character.
    fn fault(&self, what: &'static str) -> Fault {
        (what, Some(self.pos))
    }

    /// Consumes `b` if it comes next.
    fn eat(&mut self, b: u8) -> bool {
        let next = self.peek() == Some(b);
        if next {
            self.pos += 1;
        }
        next
    }

    /// Consumes `b`, which must come next.
    fn expect(&mut self, b: u8, eof: &'static str, other: &'static str) -> Result<(), Fault> {
        match self.peek() {
            None => Err((eof, None)),
            Some(c) if c == b => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.fault(other)),
        }
    }

    /// Skips white space, and in JSON5 comments.
    fn skip_space(&mut self) -> Result<(), Fault> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                _ if !self.json5 => break,
                0x0b | 0x0c => self.pos += 1,
                b'/' => {
                    self.pos += 1;
                    self.comment()?;
                }
                0x80.. => match self.peek_char() {
                    Some(c) if is_json5_space(c) => self.pos += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        Ok(())
    }

    /// The rest of a comment, after its `/`.
    fn comment(&mut self) -> Result<(), Fault> {
        const EOF: &str = "EOF parsing comment";
        match self.peek() {
            None => Err((EOF, None)),
            Some(b'/') => {
                while let Some(c) = self.peek_char() {
                    self.pos += c.len_utf8();
                    if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                        break;
                    }
                }
                Ok(())
            }
            Some(b'*') => {
                self.pos += 1;
                match self.text.get(self.pos..).and_then(|rest| rest.find("*/")) {
                    Some(end) => {
                        self.pos += end + 2;
                        Ok(())
                    }
                    None => Err((EOF, None)),
                }
            }
            Some(_) => Err(self.fault("expected comment")),
        }
    }

    fn value(&mut self) -> Result<Value, Fault> {
        self.skip_space()?;
        let Some(b) = self.peek() else {
            return Err(("EOF parsing value", None));
        };
        match b {
            b'n' => self.word("null", Value::Null),
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'\'' if self.json5 => self.string().map(Value::String),
            b'[' | b'{' => self.nested(),
            b'-' | b'0'..=b'9' if !self.json5 => self.number(),
            b'-' | b'0'..=b'9' | b'+' | b'.' | b'I' | b'N' if self.json5 => self.number5(),
            _ => Err(self.fault("expected value")),
        }
    }

    /// A literal word such as `null`.
    fn word(&mut self, word: &str, value: Value) -> Result<Value, Fault> {
        for b in word.bytes() {
            self.expect(b, "EOF parsing value", "expected value")?;
        }
        Ok(value)
    }

    /// An array or an object; an unexpected end inside points at its opening bracket.
    fn nested(&mut self) -> Result<Value, Fault> {
        let start = self.pos;
        if self.depth >= self.max_depth {
            return Err(self.fault(TOO_DEEP));
        }
        self.depth += 1;
        self.pos += 1;
        let result = if self.bytes.get(start) == Some(&b'[') {
            self.array()
        } else {
            self.object()
        };
        self.depth -= 1;
        result.map_err(|(what, at)| (what, at.or(Some(start))))
    }

    /// Before the next item of a list: `Ok(true)` at its closing `close` (consumed), after a
    /// comma unless it is the first item.
    fn next_item(&mut self, close: u8, first: bool) -> Result<bool, Fault> {
        const EOF: &str = "EOF parsing array or object";
        self.skip_space()?;
        if self.eat(close) {
            return Ok(true);
        }
        if !first {
            self.expect(b',', EOF, "expected comma")?;
            self.skip_space()?;
            if self.peek() == Some(close) {
                if !self.json5 {
                    return Err(self.fault("trailing comma"));
                }
                self.pos += 1;
                return Ok(true);
            }
        }
        match self.peek() {
            None => Err((EOF, None)),
            Some(_) => Ok(false),
        }
    }

    fn array(&mut self) -> Result<Value, Fault> {
        let mut items = Vec::new();
        while !self.next_item(b']', items.is_empty())? {
            items.push(self.value()?);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, Fault> {
        let mut map = Map::new();
        let mut first = true;
        while !self.next_item(b'}', first)? {
            first = false;
            let key = match self.peek() {
                Some(b'"') => self.string()?,
                Some(b'\'') if self.json5 => self.string()?,
                _ if self.json5 => self.identifier()?,
                _ => return Err(self.fault("expected a string key")),
            };
            self.skip_space()?;
            self.expect(b':', "EOF parsing object", "expected colon")?;
            let value = self.value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> Result<String, Fault> {
        let quote = self.peek();
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run = self.pos;
            while let Some(b) = self.peek() {
                if Some(b) == quote || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run..self.pos]);
            match self.peek() {
                None => return Err(("EOF parsing string", None)),
                b if b == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(b'\n' | b'\r') => return Err(self.fault("line terminator in string")),
                Some(b) if self.json5 => {
                    out.push(char::from(b));
                    self.pos += 1;
                }
                Some(_) => return Err(self.fault("control character in string")),
            }
        }
    }

    /// An escape sequence, at its `\`.
    fn escape(&mut self, out: &mut String) -> Result<(), Fault> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek_char() else {
            return Err(("EOF parsing escape sequence", None));
        };
        self.pos += c.len_utf8();
        let c = match c {
            '"' | '\\' | '/' => c,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => self.unicode_escape(at)?,
            _ if !self.json5 => return Err((INVALID_ESCAPE, Some(at))),
            // A line continuation.
            '\n' | '\u{2028}' | '\u{2029}' => return Ok(()),
            '\r' => {
                self.eat(b'\n');
                return Ok(());
            }
            'v' => '\u{b}',
            '0' if !matches!(self.peek(), Some(b'0'..=b'9')) => '\0',
            '0'..='9' => return Err((INVALID_ESCAPE, Some(at))),
            'x' => char::from(u8::try_from(self.hex(2, at)?).unwrap_or_default()),
            other => other,
        };
        out.push(c);
        Ok(())
    }

    /// The code point of `\uXXXX` (after the `u`), a surrogate pair taking two.
    fn unicode_escape(&mut self, at: usize) -> Result<char, Fault> {
        let high = self.hex(4, at)?;
        if let Some(c) = char::from_u32(high) {
            return Ok(c);
        }
        if !(0xD800..0xDC00).contains(&high) {
            return Err(("lone surrogate in escape", Some(at)));
        }
        self.expect(b'\\', "EOF parsing escape sequence", INVALID_ESCAPE)?;
        self.expect(b'u', "EOF parsing escape sequence", INVALID_ESCAPE)?;
        let low = self.hex(4, at)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(("lone surrogate in escape", Some(at)));
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            .ok_or(("lone surrogate in escape", Some(at)))
    }

    /// `count` hexadecimal digits of an escape at `at`.
    fn hex(&mut self, count: usize, at: usize) -> Result<u32, Fault> {
        let mut n = 0;
        for _ in 0..count {
            let Some(b) = self.peek() else {
                return Err(("EOF parsing escape sequence", None));
            };
            let Some(digit) = char::from(b).to_digit(16) else {
                return Err((INVALID_ESCAPE, Some(at)));
            };
            n = n * 16 + digit;
            self.pos += 1;
        }
        Ok(n)
    }

    /// Consumes ASCII digits; whether there was one.
    fn digits(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<Value, Fault> {
        let start = self.pos;
        self.eat(b'-');
        if !self.eat(b'0') && !self.digits() {
            return Err(self.bad_number());
        }
        if self.eat(b'.') && !self.digits() {
            return Err(self.bad_number());
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.digits() {
                return Err(self.bad_number());
            }
        }
        let text = &self.text[start..self.pos];
        // Whole numbers of up to 19 digits fit in 64 bits; others must fit in an f64.
        if (text.len() > 19 || text.contains(['.', 'e', 'E']))
            && !parse_f64(text).is_some_and(f64::is_finite)
        {
            return Err(("number out of range", Some(start)));
        }
        Ok(Value::Number(Number(text.to_owned())))
    }

    fn bad_number(&self) -> Fault {
        match self.peek() {
            None => ("EOF parsing number", None),
            Some(_) => self.fault("invalid number"),
        }
    }

    /// A JSON5 number: signed, hexadecimal, `.5`, `5.`, `Infinity`, `NaN`.
    fn number5(&mut self) -> Result<Value, Fault> {
        const EOF: &str = "EOF parsing number";
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let Some(first) = self.peek() else {
            return Err((EOF, None));
        };
        self.pos += 1;
        match first {
            b'I' => return self.word("nfinity", Value::Null),
            b'N' => return self.word("aN", Value::Null),
            b'0' if matches!(self.peek(), Some(b'x' | b'X')) => {
                self.pos += 1;
                return self.hex_number(negative);
            }
            b'0' if matches!(self.peek(), Some(b'0'..=b'9')) => {
                return Err(("leading zero", Some(start)));
            }
            b'0' if !matches!(self.peek(), Some(b'.' | b'e' | b'E')) => {}
            b'0'..=b'9' | b'.' => {
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                ) {
                    self.pos += 1;
                }
            }
            _ => return Err(("expected number", Some(self.pos - 1))),
        }
        let text = &self.text[start..self.pos];
        let text = text.strip_prefix('+').unwrap_or(text);
        let whole = text
            .strip_prefix('-')
            .unwrap_or(text)
            .bytes()
            .all(|b| b.is_ascii_digit());
        if !whole {
            match parse_f64(text) {
                Some(n) if n.is_finite() => {}
                Some(_) => return Ok(Value::Null),
                None => return Err(("invalid float literal", Some(start))),
            }
        }
        // As JSON writes it: `.5` is `0.5`, `5.` is `5.0`.
        let mut json = String::with_capacity(text.len() + 2);
        let mut previous = b'-';
        for b in text.bytes() {
            if b == b'.' && !previous.is_ascii_digit() {
                json.push('0');
            }
            if previous == b'.' && !b.is_ascii_digit() {
                json.push('0');
            }
            json.push(char::from(b));
            previous = b;
        }
        if previous == b'.' {
            json.push('0');
        }
        Ok(Value::Number(Number(json)))
    }

    /// The digits of a hexadecimal number, after its `0x`, written in decimal; more than 128
    /// bits is an overflow, as in JSON5's reference reader.
    fn hex_number(&mut self, negative: bool) -> Result<Value, Fault> {
        // Decimal digits, least significant first.
        let mut decimal: Vec<u8> = vec![0];
        let (mut any, mut significant) = (false, 0);
        while let Some(b) = self.peek() {
            let Some(digit) = char::from(b).to_digit(16) else {
                break;
            };
            if significant > 0 || digit > 0 {
                significant += 1;
            }
            if significant > 32 {
                return Err(self.fault("overflow parsing number"));
            }
            let mut carry = digit as u8;
            for d in &mut decimal {
                let v = *d * 16 + carry;
                *d = v % 10;
                carry = v / 10;
            }
            while carry > 0 {
                decimal.push(carry % 10);
                carry /= 10;
            }
            self.pos += 1;
            any = true;
        }
        if !any {
            return Err(match self.peek() {
                None => ("EOF parsing number", None),
                Some(_) => self.fault("expected number"),
            });
        }
        let mut text = String::from(if negative { "-" } else { "" });
        text.extend(decimal.iter().rev().map(|&d| char::from(b'0' + d)));
        Ok(Value::Number(Number(text)))
    }

    /// A JSON5 identifier key.
    fn identifier(&mut self) -> Result<String, Fault> {
        let start = self.pos;
        let mut out = String::new();
        loop {
            let at = self.pos;
            let Some(mut c) = self.peek_char() else {
                return Err(("EOF parsing identifier", None));
            };
            let escaped = c == '\\';
            if escaped {
                self.pos += 1;
                self.expect(b'u', "EOF parsing identifier", INVALID_ESCAPE)?;
                c = self.unicode_escape(at)?;
            }
            let fits = if at == start {
                is_identifier_start(c)
            } else {
                is_identifier_part(c)
            };
            if !fits {
                if at == start || escaped {
                    return Err(("expected identifier", Some(at)));
                }
                return Ok(out);
            }
            if !escaped {
                self.pos += c.len_utf8();
            }
            out.push(c);
        }
    }
}

/// JSON5 white space: ECMAScript's, which includes the `Zs` category and the BOM.
fn is_json5_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `$`, `_`, an ASCII letter, or any other character outside ASCII but white space.
fn is_identifier_start(c: char) -> bool {
    match c {
        '$' | '_' => true,
        _ if c.is_ascii() => c.is_ascii_alphabetic(),
        _ => !is_json5_space(c),
    }
}

fn is_identifier_part(c: char) -> bool {
    is_identifier_start(c) || c.is_ascii_digit()
}

#[cfg(test)]
impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.to_string())
            .ok()
            .as_ref()
            == Some(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        parse(text).unwrap()
    }

    #[test]
    fn reads_and_writes_json() {
        let text = r#" { "b" : [1, -2.5e3, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "a": {} } "#;
        assert_eq!(
            json(text).to_string(),
            r#"{"a":{},"b":[1,-2.5e3,true,false,null,"x\"\\/\b\f\n\r\té😀"]}"#
        );
        assert_eq!(
            json("\"\\u0001\\u001f\u{7f}\"").to_string(),
            "\"\\u0001\\u001f\u{7f}\""
        );
        assert_eq!(json(r#"{"a":1,"a":2}"#).to_string(), r#"{"a":2}"#);
        assert_eq!(json("0").as_u64(), Some(0));
        assert_eq!(json("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(json("18446744073709551616").as_u64(), None);
        assert_eq!(json("1.5").as_f64(), Some(1.5));
        assert_eq!(json("1.0").as_u64(), None);
    }

    #[test]
    fn repeated_members_are_removed_in_one_pass() {
        let Value::Object(mut map) = json(r#"{"a":1,"b":2,"a":3,"c":4}"#) else {
            panic!("not an object");
        };
        assert_eq!(map.remove_counted("a"), (Some(json("3")), 2));
        assert_eq!(map.remove_counted("a"), (None, 0));
        assert_eq!(Value::Object(map).to_string(), r#"{"b":2,"c":4}"#);
        let many = format!("{{{}\"z\":0}}", "\"k\":1,".repeat(200_000));
        let Value::Object(mut map) = json(&many) else {
            panic!("not an object");
        };
        assert_eq!(map.remove_counted("k").1, 200_000);
        assert_eq!(Value::Object(map).to_string(), r#"{"z":0}"#);
    }

    #[test]
    fn strict_json_refuses_what_serde_json_refuses() {
        for bad in [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "-",
            "'a'",
            "{a:1}",
            "\"\t\"",
            "\"\\x41\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "[1 2]",
            "nul",
            "true false",
            "1e400",
            "NaN",
            "// c\n1",
            "[",
            "\"abc",
            "{\"a\" 1}",
            "[,]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        assert!(parse_slice(b"\"\xff\"").is_err());
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = parse("{\n  \"a\": 1 \"b\"}").unwrap_err();
        assert_eq!((e.what, e.position), ("expected comma", Some((2, 10))));
        assert_eq!(e.to_string(), "expected comma at line 2 column 10");
        let e = parse("  [1, 2").unwrap_err();
        assert_eq!(
            e.position,
            Some((1, 3)),
            "an end inside points at the bracket"
        );
        assert_eq!(parse("").unwrap_err().position, None);
    }

    #[test]
    fn reads_json5() {
        let text = "// c\n{ /* b */ a: 'x\\'y', $b_2: +0x1F, c: .5, d: 5., e: [1, 2,], \
                    'f': \"\\v\\0\\x41\\\n\", g: Infinity, h: -NaN, i: -0x10, ñ: 1e2, }";
        assert_eq!(
            parse_json5(text, MAX_DEPTH).unwrap().to_string(),
            r#"{"$b_2":31,"a":"x'y","c":0.5,"d":5.0,"e":[1,2],"f":"\u000b\u0000A","g":null,"h":null,"i":-16,"ñ":1e2}"#
        );
        for bad in [
            "{a:1 b:2}",
            "[1,,2]",
            "01",
            "{1:2}",
            "'a\nb'",
            "/x",
            "'\\1'",
            "0x",
            "{",
        ] {
            assert!(parse_json5(bad, MAX_DEPTH).is_err(), "{bad:?} accepted");
        }
        let max = parse_json5(&format!("0x{}", "f".repeat(32)), MAX_DEPTH).unwrap();
        assert_eq!(max.to_string(), u128::MAX.to_string());
        assert_eq!(max.as_f64(), Some(u128::MAX as f64));
        assert!(parse_json5(&format!("0x1{}", "0".repeat(32)), MAX_DEPTH).is_err());
        let small = parse_json5(&format!("-0x{}1", "0".repeat(40)), MAX_DEPTH).unwrap();
        assert_eq!(small.to_string(), "-1");
        let e = parse_json5("{\r\n  a: 1,\u{2028} b: @ }", MAX_DEPTH).unwrap_err();
        assert_eq!((e.what, e.position), ("expected value", Some((3, 5))));
    }

    #[test]
    fn f32_numbers_are_shortest_and_written_as_json_writes_f64() {
        for (value, text) in [
            (0.7f32, "0.7"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (2.5, "2.5"),
            (100.0, "100.0"),
            (1e-5, "0.00001"),
            (1e-6, "1e-6"),
            (1.5e-7, "1.5e-7"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (f32::MAX, "3.4028235e+38"),
            (-0.1, "-0.1"),
        ] {
            assert_eq!(f32_number(value).unwrap().to_string(), text, "{value}");
        }
        assert_eq!(f32_number(f32::NAN), None);
        assert_eq!(f32_number(f32::INFINITY), None);
    }

    #[test]
    fn f32_numbers_match_the_serde_json_encoding_of_their_display() {
        // The encoding this replaces: shortest `f32` text, read as `f64`, written by serde_json.
        let reference = |x: f32| -> String {
            let f: f64 = x.to_string().parse().unwrap();
            serde_json::Number::from_f64(f).unwrap().to_string()
        };
        let mut bits: u32 = 0;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..400_000u32 {
            // Every exponent, random mantissas, and the small integers and decimals.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = match i % 4 {
                0 => f32::from_bits(bits),
                1 => f32::from_bits(seed as u32),
                2 => (i / 4) as f32 / 100.0,
                _ => (i / 4) as f32,
            };
            bits = bits.wrapping_add(10_007);
            if x.is_finite() {
                assert_eq!(f32_number(x).unwrap().to_string(), reference(x), "{x:e}");
            }
        }
    }
}
