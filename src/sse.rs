//! Server-sent events: a `text/event-stream` parser with no I/O.
//!
//! The caller hands in the bytes of a response body as they arrive, in chunks cut anywhere,
//! and gets back every event that a blank line has completed. The parser is layered the way
//! the HTML standard describes the format ("Parsing an event stream"):
//!
//! 1. **bytes → UTF-8**: the stream is decoded with the standard's UTF-8 decode: a leading
//!    byte order mark is skipped, and invalid sequences become U+FFFD (never an error, never a
//!    panic). A chunk may end inside a UTF-8 sequence; decoding happens per complete line, so
//!    the sequence is whole again by then.
//! 2. **UTF-8 → lines**: a line ends at CRLF, LF or CR. A CR at the end of one chunk and an LF at
//!    the start of the next are one line end.
//! 3. **lines → fields**: a line starting with a colon is a comment; otherwise the field name
//!    runs up to the first colon and the value follows it, minus one leading space; a line
//!    with no colon is a field with an empty value.
//! 4. **fields → events**: `event` sets the type, `data` appends its value and an LF to the data
//!    buffer, `id` sets the event id unless the value contains NUL, `retry` sets the
//!    reconnection time when the value is all ASCII digits, other fields are ignored. A blank
//!    line dispatches the event: nothing is dispatched when no `data` field came, the last LF
//!    of the data is removed, and the type defaults to `message`.
//!
//! At the end of the stream an event not yet closed by a blank line is discarded, as the
//! standard says ([`Parser::finish`]); [`Parser::has_pending`] tells the caller so. A body
//! that ended cleanly (its length or its last chunk said so) may still leave out the final
//! blank line, or even the last line end: [`Parser::end`] reads that last event as whole, and
//! the caller's protocol (`message_stop`, `[DONE]`, `response.completed`) tells a whole
//! answer from a cut one.
//!
//! [`WholeEvents`] is the same parser for a pass-through: it gives the bytes of a stream back
//! as they came, cut only at event boundaries, whatever the line ends (`\n`, `\r\n`, `\r`) and
//! wherever the reads were cut.
//!
//! The grammar, as the HTML standard gives it (ABNF):
//!
//! ```text
//! stream        = [ bom ] *event
//! event         = *( comment / field ) end-of-line
//! comment       = colon *any-char end-of-line
//! field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
//! end-of-line   = ( cr lf / cr / lf )
//!
//! ; characters
//! lf            = %x000A ; U+000A LINE FEED (LF)
//! cr            = %x000D ; U+000D CARRIAGE RETURN (CR)
//! space         = %x0020 ; U+0020 SPACE
//! colon         = %x003A ; U+003A COLON (:)
//! bom           = %xFEFF ; U+FEFF BYTE ORDER MARK
//! name-char     = %x0000-0009 / %x000B-000C / %x000E-0039 / %x003B-10FFFF
//!                 ; a scalar value other than U+000A LINE FEED (LF), U+000D CARRIAGE RETURN (CR), or U+003A COLON (:)
//! any-char      = %x0000-0009 / %x000B-000C / %x000E-10FFFF
//!                 ; a scalar value other than U+000A LINE FEED (LF) or U+000D CARRIAGE RETURN (CR)
//! ```
//!
//! Memory is bounded: a line longer than the line cap, or an event whose data grows past four
//! times the line cap, is an [`Error::Protocol`], and the parser keeps no more than one line
//! and one event's fields between calls.

use crate::error::Error;

/// The UTF-8 encoding of U+FEFF BYTE ORDER MARK.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The line cap of [`Parser::new`]: 1 MiB.
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

/// An event's data may be this many times the line cap.
const DATA_CAP_FACTOR: usize = 4;

/// A line buffer with more capacity than this is released once its line is done, so one
/// large line does not pin its memory for the rest of the stream.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type: the last `event` field, or `message` when there was none or it was empty.
    pub event: String,
    /// The `data` fields joined with LF.
    pub data: String,
    /// The last valid `id` field of this event, if it had one (`Some("")` for a bare `id`).
    /// The standard's persistent "last event ID" is [`Parser::last_event_id`].
    pub id: Option<String>,
    /// The last valid `retry` field of this event, in milliseconds, if it had one.
    /// The latest one of the whole stream is [`Parser::retry`].
    pub retry: Option<u64>,
}

/// An incremental `text/event-stream` parser: feed it chunks, collect events.
///
/// ```
/// use mantle_provider::sse::Parser;
///
/// let mut parser = Parser::new();
/// let mut events = Vec::new();
/// parser.feed(b"event: ping\ndata: {\"a\"", &mut events)?;
/// assert!(events.is_empty() && parser.has_pending());
/// parser.feed(b":1}\n\ndata: [DONE]\n\n", &mut events)?;
/// assert_eq!(events.len(), 2);
/// assert_eq!((events[0].event.as_str(), events[0].data.as_str()), ("ping", "{\"a\":1}"));
/// assert_eq!((events[1].event.as_str(), events[1].data.as_str()), ("message", "[DONE]"));
/// assert!(!parser.has_pending());
/// parser.finish()?;
/// # Ok::<(), mantle_provider::Error>(())
/// ```
#[derive(Debug)]
pub struct Parser {
    /// The longest line accepted, in bytes, without its line end.
    max_line: usize,
    /// The most data one event may gather, in bytes.
    max_data: usize,
    /// The bytes of a line not yet ended.
    line: Vec<u8>,
    /// The last chunk ended with CR: an LF starting the next one ends no new line.
    after_cr: bool,
    /// No line has ended yet: the first one may start with a byte order mark.
    at_start: bool,
    /// A non-comment line came since the last blank line.
    in_event: bool,
    /// The data buffer.
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The `id` of the event being read, when it had one.
    id: Option<String>,
    /// The `retry` of the event being read, when it had one.
    event_retry: Option<u64>,
    /// The standard's last event ID string.
    last_event_id: String,
    /// The latest reconnection time, in milliseconds.
    retry: Option<u64>,
    /// Set by a protocol fault; every later call repeats it.
    failed: Option<String>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser for a new stream, with the default line cap of [`DEFAULT_MAX_LINE`] bytes.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A parser for a new stream that rejects lines longer than `max_line` bytes (line end
    /// excluded) and events whose data grows past four times that.
    pub fn with_max_line(max_line: usize) -> Self {
        Self {
            max_line,
            max_data: max_line.saturating_mul(DATA_CAP_FACTOR),
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            in_event: false,
            data: String::new(),
            event_type: String::new(),
            id: None,
            event_retry: None,
            last_event_id: String::new(),
            retry: None,
            failed: None,
        }
    }

    /// Parses the next chunk of the stream and appends to `out` every event it completes, in
    /// order, as soon as its blank line is read.
    ///
    /// A line longer than the line cap, or an event's data longer than four times the cap, is
    /// an [`Error::Protocol`]; the events appended before it are good. After an error the
    /// parser is spent: every later call returns the same error.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
        self.feed_to_boundary(chunk, out).map(|_| ())
    }

    /// [`Parser::feed`], and where in `chunk` the last event boundary is: the number of its
    /// bytes after which the parser holds no unfinished line and no event not yet dispatched
    /// (the end of a blank line, or of a comment between events), `None` when no line ended
    /// at such a point in this chunk. The bytes up to a boundary hold only whole events.
    pub fn feed_to_boundary(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<Event>,
    ) -> Result<Option<usize>, Error> {
        let mut boundary = None;
        self.feed_at(chunk, out, &mut boundary)?;
        Ok(boundary)
    }

    /// [`Parser::feed_to_boundary`], the boundary set even when a fault stops the chunk.
    fn feed_at(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<Event>,
        boundary: &mut Option<usize>,
    ) -> Result<(), Error> {
        if let Some(message) = &self.failed {
            return Err(Error::Protocol(message.clone()));
        }
        self.feed_bytes(chunk, out, boundary).map_err(|message| {
            self.fail(message.clone());
            Error::Protocol(message)
        })
    }

    /// The body ended cleanly: what a server that leaves out the final blank line sent last
    /// is read as whole. An unfinished last line counts as ended, and an event not yet
    /// dispatched is dispatched (appended to `out`) as if the blank line had followed. Then
    /// the parser is ready for a new stream, as after [`Parser::finish`].
    ///
    /// Whether that last event was whole is for the caller's protocol to say: a JSON payload
    /// cut short does not parse, and a stream without its final event is cut.
    /// [`Parser::ends_mid_line`], asked before, tells that the last line had no line end.
    /// Returns the protocol fault that stopped the parser, if one did.
    pub fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        let mut result = match &self.failed {
            Some(message) => Err(Error::Protocol(message.clone())),
            None => Ok(()),
        };
        if result.is_ok() && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            result = self.process_line(&line, out).map_err(Error::Protocol);
        }
        if result.is_ok() && self.in_event {
            self.dispatch(out);
        }
        // What is left is discarded and the parser reset, as at the end of any stream.
        let _ = self.finish();
        result
    }

    /// Whether the stream so far ends inside a line: bytes after the last line end (a byte
    /// order mark alone aside).
    pub fn ends_mid_line(&self) -> bool {
        self.line.len() > self.bom_in_line()
    }

    /// Whether the stream so far ends inside an event: some bytes of an unfinished line, or a
    /// field line (comments aside) not yet followed by the blank line that dispatches it. Such
    /// an event is never dispatched, so at the end of the body this means the stream was cut
    /// short. Also true after a protocol fault.
    pub fn has_pending(&self) -> bool {
        self.failed.is_some() || self.in_event || self.ends_mid_line()
    }

    /// Ends the stream: discards any unfinished event, as the standard does, and makes the
    /// parser ready for a new stream (a reconnection), keeping [`Parser::last_event_id`] and
    /// [`Parser::retry`].
    ///
    /// Returns [`Error::Truncated`] when an event was pending (see [`Parser::has_pending`]),
    /// or the protocol fault that stopped the parser.
    pub fn finish(&mut self) -> Result<(), Error> {
        let pending = self.has_pending();
        let failed = self.failed.take();
        self.line = Vec::new();
        self.after_cr = false;
        self.at_start = true;
        self.in_event = false;
        self.data = String::new();
        self.event_type.clear();
        self.id = None;
        self.event_retry = None;
        match failed {
            Some(message) => Err(Error::Protocol(message)),
            None if pending => Err(Error::Truncated(String::from(
                "sse stream ended inside an event",
            ))),
            None => Ok(()),
        }
    }

    /// The standard's last event ID: the `id` in force at the last dispatch (blank line), empty
    /// when none was ever given or a bare `id` reset it. A client sends it back as
    /// `Last-Event-ID` when it reconnects.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time in milliseconds from the latest valid `retry` field, if any. It
    /// applies at once, whether or not its event is dispatched.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The byte-level loop: splits `chunk` at line ends, completing the buffered line first.
    /// Sets `boundary` to the end of the last event boundary in `chunk` (see
    /// [`Parser::feed_to_boundary`]) as it goes, so a fault leaves the one before it.
    fn feed_bytes(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<Event>,
        boundary: &mut Option<usize>,
    ) -> Result<(), String> {
        let mut rest = chunk;
        // A CR ended the previous chunk: an LF starting this one belongs to that line end.
        if self.after_cr
            && let Some((&first, tail)) = rest.split_first()
        {
            self.after_cr = false;
            if first == b'\n' {
                rest = tail;
                if !self.in_event && self.line.is_empty() {
                    *boundary = Some(1);
                }
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, terminator) = rest.split_at(end);
            rest = match terminator {
                [b'\r', b'\n', tail @ ..] => tail,
                [b'\r'] => {
                    self.after_cr = true;
                    &[]
                }
                [_, tail @ ..] => tail,
                [] => &[],
            };
            if self.line.is_empty() {
                // The whole line is in this chunk: no copy.
                self.check_line(line.len())?;
                self.process_line(line, out)?;
            } else {
                self.append_line(line)?;
                let buffered = std::mem::take(&mut self.line);
                let result = self.process_line(&buffered, out);
                if buffered.capacity() <= KEEP_LINE_CAPACITY {
                    self.line = buffered;
                    self.line.clear();
                }
                result?;
            }
            if !self.in_event {
                *boundary = Some(chunk.len() - rest.len());
            }
        }
        if !rest.is_empty() {
            self.append_line(rest)?;
        }
        Ok(())
    }

    /// Adds bytes to the unfinished line, within the cap and without over-allocating past it.
    fn append_line(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.check_line(self.line.len().saturating_add(bytes.len()))?;
        let extra = reserve_amount(
            self.line.len(),
            self.line.capacity(),
            bytes.len(),
            self.max_line,
        );
        self.line.reserve_exact(extra);
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn check_line(&self, len: usize) -> Result<(), String> {
        if len > self.max_line {
            return Err(format!("sse line longer than {} bytes", self.max_line));
        }
        Ok(())
    }

    /// How many bytes of the unfinished line are the stream's byte order mark.
    fn bom_in_line(&self) -> usize {
        if self.at_start && self.line.starts_with(BOM) {
            BOM.len()
        } else {
            0
        }
    }

    /// Interprets one complete line (without its line end), per the standard.
    fn process_line(&mut self, mut line: &[u8], out: &mut Vec<Event>) -> Result<(), String> {
        if self.at_start {
            self.at_start = false;
            if let Some(after) = line.strip_prefix(BOM) {
                line = after;
            }
        }
        // If the line is empty (a blank line): dispatch the event.
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            // If the line starts with a colon: ignore the line.
            Some(0) => return Ok(()),
            // If the line contains a colon: the field name is the part before the first
            // colon, the value the part after it, with one leading space removed.
            Some(colon) => {
                let (name, value) = line.split_at(colon);
                let value = value.get(1..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            // Otherwise the whole line is the field name and the value is empty.
            None => (line, &[][..]),
        };
        self.in_event = true;
        match name {
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&text(value));
            }
            b"data" => self.append_data(&text(value))?,
            // If the value contains NUL, ignore the field.
            b"id" if !value.contains(&0) => {
                self.id = Some(text(value).into_owned());
            }
            b"retry" => {
                if let Some(millis) = parse_retry(value) {
                    self.event_retry = Some(millis);
                    self.retry = Some(millis);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Appends a `data` value and an LF to the data buffer, within the data cap.
    fn append_data(&mut self, value: &str) -> Result<(), String> {
        let add = value.len().saturating_add(1);
        if self.data.len().saturating_add(add) > self.max_data {
            return Err(format!(
                "sse event data longer than {} bytes",
                self.max_data
            ));
        }
        let extra = reserve_amount(self.data.len(), self.data.capacity(), add, self.max_data);
        self.data.reserve_exact(extra);
        self.data.push_str(value);
        self.data.push('\n');
        Ok(())
    }

    /// The standard's "dispatch the event" on a blank line.
    fn dispatch(&mut self, out: &mut Vec<Event>) {
        self.in_event = false;
        // Set the last event ID string to the last event ID buffer.
        let id = self.id.take();
        if let Some(id) = &id {
            self.last_event_id.clone_from(id);
        }
        let retry = self.event_retry.take();
        // If the data buffer is empty, reset the event type buffer and return.
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // If the data buffer's last character is LF, remove it.
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        // The type is the event type buffer, or "message" when it is empty.
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            std::mem::take(&mut self.event_type)
        };
        out.push(Event {
            event,
            data,
            id,
            retry,
        });
    }

    /// Stops the parser after a protocol fault and releases its buffers.
    fn fail(&mut self, message: String) {
        self.failed = Some(message);
        self.line = Vec::new();
        self.data = String::new();
        self.event_type = String::new();
        self.id = None;
        self.event_retry = None;
    }
}

/// An event stream passed on byte for byte, in whole events: the bytes of a stream go out as
/// they came, but only up to the last event boundary seen (a blank line, or a comment between
/// events), so a reader downstream never holds half an event when the upstream breaks. The
/// events those bytes complete are parsed on the way ([`Parser`]), for the caller to watch
/// (a final event, an error event).
///
/// Line ends may be `\n`, `\r\n` or `\r`, mixed, and reads may be cut anywhere, a CR LF
/// pair included. At a clean end ([`WholeEvents::end`]) a last event that came without its
/// blank line is completed with one in the stream's own line end, so a reader that keeps to
/// the standard does not drop it.
///
/// ```
/// use mantle_provider::sse::WholeEvents;
///
/// let mut relay = WholeEvents::new();
/// let (mut out, mut events) = (Vec::new(), Vec::new());
/// relay.feed(b"event: a\r\ndata: 1\r\n\r\nevent: b\r\nda", &mut out, &mut events)?;
/// assert_eq!(out, b"event: a\r\ndata: 1\r\n\r\n");
/// relay.feed(b"ta: 2\r\n", &mut out, &mut events)?;
/// relay.end(&mut out, &mut events)?;
/// assert_eq!(out, b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n");
/// assert_eq!((events[1].event.as_str(), events[1].data.as_str()), ("b", "2"));
/// # Ok::<(), mantle_provider::Error>(())
/// ```
#[derive(Debug)]
pub struct WholeEvents {
    parser: Parser,
    /// The bytes after the last boundary: the start of an event not yet whole.
    held: Vec<u8>,
    /// The most bytes `held` may reach.
    max_held: usize,
    /// The last line end seen in the stream, to complete a last event with.
    line_end: &'static [u8],
    /// The last chunk ended with CR: an LF starting the next one makes it CR LF.
    after_cr: bool,
}

impl Default for WholeEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl WholeEvents {
    /// A pass-through for a new stream, with the parser's default line cap; an event may hold
    /// up to five times that in bytes.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A pass-through whose parser rejects lines over `max_line` bytes, and which holds back
    /// no event longer than five times that (its data may be four times the cap).
    pub fn with_max_line(max_line: usize) -> Self {
        Self {
            parser: Parser::with_max_line(max_line),
            held: Vec::new(),
            max_held: max_line.saturating_mul(DATA_CAP_FACTOR + 1),
            line_end: b"\n",
            after_cr: false,
        }
    }

    /// Takes in the next chunk of the stream: appends to `out` the bytes that complete whole
    /// events (held bytes first), and to `events` the events they complete.
    ///
    /// A line over the cap, or an event longer than the pass-through holds, is an
    /// [`Error::Protocol`]; the bytes of whole events before it are in `out`, the rest is
    /// dropped, and every later call returns the error.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let mut boundary = None;
        let fed = self.parser.feed_at(chunk, events, &mut boundary);
        if let Err(e) = fed {
            // The whole events before the fault go out; the rest is dropped.
            if let Some(cut) = boundary {
                out.append(&mut self.held);
                out.extend_from_slice(&chunk[..cut]);
            }
            self.held = Vec::new();
            return Err(e);
        }
        if let Some(end) = last_line_end(chunk, self.after_cr) {
            self.line_end = end;
        }
        if let Some(&last) = chunk.last() {
            self.after_cr = last == b'\r';
        }
        let (whole, rest) = match boundary {
            Some(cut) => chunk.split_at(cut),
            None => (&[][..], chunk),
        };
        if !whole.is_empty() {
            out.reserve(self.held.len() + whole.len());
            out.append(&mut self.held);
            out.extend_from_slice(whole);
        }
        if self.held.len().saturating_add(rest.len()) > self.max_held {
            let message = format!("sse event longer than {} bytes", self.max_held);
            self.parser.fail(message.clone());
            self.held = Vec::new();
            return Err(Error::Protocol(message));
        }
        self.held.extend_from_slice(rest);
        Ok(())
    }

    /// The stream ended cleanly: appends what was held, completed with the line ends it
    /// lacks when it ends inside an event, and the event it completes ([`Parser::end`]).
    /// Whether that last event is whole is the caller's to judge (its data may have been cut);
    /// [`WholeEvents::ends_mid_line`], asked before, tells that its last line had no line end.
    pub fn end(&mut self, out: &mut Vec<u8>, events: &mut Vec<Event>) -> Result<(), Error> {
        let open = self.parser.has_pending();
        let result = self.parser.end(events);
        let held = std::mem::take(&mut self.held);
        if result.is_ok() && !held.is_empty() {
            out.extend_from_slice(&held);
            if open {
                match held.last() {
                    Some(b'\n') if held.ends_with(b"\r\n") => out.extend_from_slice(b"\r\n"),
                    Some(b'\n') => out.push(b'\n'),
                    Some(b'\r') => out.push(b'\r'),
                    _ => {
                        out.extend_from_slice(self.line_end);
                        out.extend_from_slice(self.line_end);
                    }
                }
            }
        }
        result
    }

    /// Whether the stream so far ends inside a line ([`Parser::ends_mid_line`]).
    pub fn ends_mid_line(&self) -> bool {
        self.parser.ends_mid_line()
    }

    /// How many bytes are held back: the start of an event not yet whole.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

/// The last line end in `bytes`, read after a chunk that ended with CR when `after_cr`:
/// `\r\n`, `\n` or `\r`. A CR that ends `bytes` counts as a CR alone (its LF, if any, is in
/// the next read).
fn last_line_end(bytes: &[u8], after_cr: bool) -> Option<&'static [u8]> {
    let at = bytes.iter().rposition(|&b| b == b'\n' || b == b'\r')?;
    let cr_before = if at == 0 {
        after_cr
    } else {
        bytes[at - 1] == b'\r'
    };
    Some(match bytes[at] {
        b'\n' if cr_before => b"\r\n",
        b'\n' => b"\n",
        _ => b"\r",
    })
}

/// A `retry` value: only ASCII digits, read as a base-ten integer. Empty or out of range
/// values are ignored like any other invalid one.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// How much to `reserve_exact` so that `add` more bytes fit after `len`: geometric growth as
/// `Vec` does, but never past `limit` (the caller has checked `len + add <= limit`).
fn reserve_amount(len: usize, capacity: usize, add: usize, limit: usize) -> usize {
    let needed = len.saturating_add(add);
    if needed <= capacity {
        return 0;
    }
    let target = capacity.saturating_mul(2).min(limit).max(needed);
    target - len
}

/// A field's value as text, invalid UTF-8 replaced as the spec says. Valid text (nearly
/// always) goes through `str::from_utf8`, which checks ASCII a word at a time, where
/// `from_utf8_lossy` walks it chunk by chunk.
fn text(value: &[u8]) -> std::borrow::Cow<'_, str> {
    match core::str::from_utf8(value) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A real OpenAI chat-completions stream (Mantle, `stream_options.include_usage`).
    const OPENAI: &str = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n",
        "\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"The user says hi.\"},\"finish_reason\":null}]}\n",
        "\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n",
        "\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\n",
        "\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n",
        "\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1736000000,\"model\":\"openai.gpt-oss-120b\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n",
        "\n",
        "data: [DONE]\n",
        "\n",
    );

    /// A real Anthropic Messages stream, thinking and a signature included.
    const ANTHROPIC: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"anthropic.claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n",
        "\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n",
        "\n",
        "event: ping\n",
        "data: {\"type\": \"ping\"}\n",
        "\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think.\"}}\n",
        "\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"}}\n",
        "\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n",
        "\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n",
        "\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi!\"}}\n",
        "\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n",
        "\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n",
        "\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n",
        "\n",
    );

    fn ev(event: &str, data: &str) -> Event {
        Event {
            event: event.to_owned(),
            data: data.to_owned(),
            id: None,
            retry: None,
        }
    }

    fn msg(data: &str) -> Event {
        ev("message", data)
    }

    /// What a whole run gives: events, the fault if any, then the parser's state.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        events: Vec<Event>,
        error: Option<Error>,
        pending: bool,
        last_event_id: String,
        retry: Option<u64>,
    }

    fn run_with(max_line: usize, chunks: &[&[u8]]) -> Outcome {
        let mut parser = Parser::with_max_line(max_line);
        let mut events = Vec::new();
        let mut error = None;
        for chunk in chunks {
            if let Err(e) = parser.feed(chunk, &mut events) {
                error = Some(e);
                break;
            }
        }
        Outcome {
            events,
            error,
            pending: parser.has_pending(),
            last_event_id: parser.last_event_id().to_owned(),
            retry: parser.retry(),
        }
    }

    fn run(chunks: &[&[u8]]) -> Outcome {
        run_with(DEFAULT_MAX_LINE, chunks)
    }

    /// Feeds `input` whole, split at every byte offset, and one byte at a time; every way
    /// must give `expected` events and the same final state.
    fn assert_splits(input: &[u8], expected: &[Event]) -> Outcome {
        let whole = run(&[input]);
        assert_eq!(whole.error, None);
        assert_eq!(whole.events, expected);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(run(&[a, b]), whole, "split at byte {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "one byte at a time");
        let threes: Vec<&[u8]> = input.chunks(3).collect();
        assert_eq!(run(&threes), whole, "three bytes at a time");
        whole
    }

    /// The `data: ` lines of an LF-only transcript, as the test's own oracle.
    fn data_lines(transcript: &str) -> Vec<&str> {
        transcript
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .collect()
    }

    #[test]
    fn openai_stream_at_every_split() {
        let expected: Vec<Event> = data_lines(OPENAI).into_iter().map(msg).collect();
        assert_eq!(expected.len(), 7);
        let out = assert_splits(OPENAI.as_bytes(), &expected);
        assert!(out.events[5].data.contains("\"choices\":[],\"usage\""));
        assert_eq!(out.events[6].data, "[DONE]");
        assert!(!out.pending);
    }

    #[test]
    fn anthropic_stream_at_every_split() {
        let names = [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ];
        let datas = data_lines(ANTHROPIC);
        assert_eq!(datas.len(), names.len());
        let expected: Vec<Event> = names.iter().zip(datas).map(|(n, d)| ev(n, d)).collect();
        let out = assert_splits(ANTHROPIC.as_bytes(), &expected);
        assert!(
            out.events[4]
                .data
                .contains("\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"")
        );
        assert!(!out.pending);
    }

    #[test]
    fn events_are_dispatched_as_soon_as_their_blank_line_arrives() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        let input = OPENAI.as_bytes();
        for (i, byte) in input.iter().enumerate() {
            parser
                .feed(std::slice::from_ref(byte), &mut events)
                .unwrap();
            let blank_lines = input[..=i].windows(2).filter(|w| w == b"\n\n").count();
            assert_eq!(events.len(), blank_lines, "after byte {i}");
        }
        // A CR ends the blank line at once: no waiting for a possible LF.
        let mut events = Vec::new();
        parser.feed(b"data: x\r\r", &mut events).unwrap();
        assert_eq!(events, [msg("x")]);
    }

    #[test]
    fn multibyte_utf8_split_anywhere() {
        let input = "data: {\"delta\":{\"content\":\"héllo 😀 世界\"}}\n\ndata: 🦀\ndata: ∑ 日本語\n\nevent: 絵文字\ndata: ok 👍🏽\n\n";
        assert_splits(
            input.as_bytes(),
            &[
                msg("{\"delta\":{\"content\":\"héllo 😀 世界\"}}"),
                msg("🦀\n∑ 日本語"),
                ev("絵文字", "ok 👍🏽"),
            ],
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        // A lone continuation byte, a truncated 4-byte sequence, an overlong encoding.
        let input = b"data: a\xFFb\ndata: \xF0\x9F\ndata: \xC0\xAFz\nevent: \xE4\xB8\n\n";
        assert_splits(
            input,
            &[ev("\u{FFFD}", "a\u{FFFD}b\n\u{FFFD}\n\u{FFFD}\u{FFFD}z")],
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let input = b"data: a\r\n\r\ndata: b\r\rdata: c\ndata: d\r\n\nevent: e\rdata: f\r\n\r";
        assert_splits(input, &[msg("a"), msg("b"), msg("c\nd"), ev("e", "f")]);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_line_end() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        parser.feed(b"data: a\r", &mut events).unwrap();
        parser.feed(b"", &mut events).unwrap();
        parser.feed(b"\n", &mut events).unwrap();
        assert!(events.is_empty(), "CR LF across chunks is not a blank line");
        parser.feed(b"\n", &mut events).unwrap();
        assert_eq!(events, [msg("a")]);
        // A CR then anything else: the CR ended its line, the byte starts a new one.
        parser.feed(b"data: b\r", &mut events).unwrap();
        parser.feed(b"\r", &mut events).unwrap();
        assert_eq!(events, [msg("a"), msg("b")]);
    }

    #[test]
    fn bom_comments_fields_retry_and_id() {
        let input = concat!(
            "\u{FEFF}: this is a comment\n",
            "retry: 3000\n",
            "\n",
            ": ping\n",
            "id: 42\n",
            "event: update\n",
            "data:no-space\n",
            "data:  two spaces\n",
            "data\n",
            "\n",
            "data: after\n",
            "\n",
            "id\n",
            "retry: 12a\n",
            "retry:\n",
            "foo: bar\n",
            "Data: case matters\n",
            "data: x\n",
            "retry: 10\n",
            "\n",
            "id: a\0b\n",
            "data: y\n",
            "\n",
            "event\n",
            "data:\n",
            "\n",
        );
        let out = assert_splits(
            input.as_bytes(),
            &[
                Event {
                    id: Some("42".to_owned()),
                    ..ev("update", "no-space\n two spaces\n")
                },
                msg("after"),
                Event {
                    id: Some(String::new()),
                    retry: Some(10),
                    ..msg("x")
                },
                msg("y"),
                msg(""),
            ],
        );
        assert_eq!(out.last_event_id, "");
        assert_eq!(out.retry, Some(10));
        assert!(!out.pending);
    }

    #[test]
    fn retry_alone_is_applied_without_an_event() {
        let out = run(&[b"retry: 3000\n\n"]);
        assert!(out.events.is_empty());
        assert_eq!(out.retry, Some(3000));
        assert_eq!(parse_retry(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry(b"18446744073709551616"), None);
        assert_eq!(parse_retry(b"+1"), None);
        assert_eq!(parse_retry(b""), None);
    }

    #[test]
    fn bom_only_at_stream_start() {
        assert_splits("\u{FEFF}data: a\n\n".as_bytes(), &[msg("a")]);
        assert_splits("\u{FEFF}\r\ndata: a\r\n\r\n".as_bytes(), &[msg("a")]);
        // A second BOM is part of the field name, so the field is unknown.
        assert_splits(
            "\u{FEFF}\u{FEFF}data: a\n\ndata: b\n\n".as_bytes(),
            &[msg("b")],
        );
        // A BOM not at the start of the stream is data.
        assert_splits("data: \u{FEFF}a\n\n".as_bytes(), &[msg("\u{FEFF}a")]);
        // A BOM alone, or a BOM on a blank line.
        assert_splits("\u{FEFF}\n\u{FEFF}".as_bytes(), &[]);
        assert!(!run(&["\u{FEFF}".as_bytes()]).pending);
    }

    /// The examples of the HTML standard's event stream section.
    #[test]
    fn html_standard_examples() {
        assert_splits(
            b"data: YHOO\ndata: +2\ndata: 10\n\n",
            &[msg("YHOO\n+2\n10")],
        );
        let out = assert_splits(
            b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
            &[
                Event {
                    id: Some("1".to_owned()),
                    ..msg("first event")
                },
                Event {
                    id: Some(String::new()),
                    ..msg("second event")
                },
            ],
        );
        assert!(out.pending, "the third event has no blank line");
        assert_eq!(out.last_event_id, "");
        let out = assert_splits(b"data\n\ndata\ndata\n\ndata:", &[msg(""), msg("\n")]);
        assert!(out.pending);
        assert_splits(b"data:test\n\ndata: test\n\n", &[msg("test"), msg("test")]);
    }

    #[test]
    fn last_event_id_persists_until_changed() {
        let out = run(&[b"id: 7\ndata: a\n\ndata: b\n\nid: 8\n\nid: 9\ndata: c"]);
        assert_eq!(
            out.events,
            [
                Event {
                    id: Some("7".to_owned()),
                    ..msg("a")
                },
                msg("b"),
            ]
        );
        // `id: 8` was dispatched by its blank line (without an event); `id: 9` never was.
        assert_eq!(out.last_event_id, "8");
    }

    #[test]
    fn pending_tells_a_truncated_stream() {
        let pending = |input: &[u8]| run(&[input]).pending;
        assert!(!pending(b""));
        assert!(pending(b"data: {\"par"));
        assert!(pending(b"data: x\n"));
        assert!(pending(b"event: message_stop\n"));
        assert!(pending(b"data: x\r"));
        assert!(pending(b"\xEF\xBB"));
        assert!(!pending(b"data: x\n\n"));
        assert!(!pending(b"data: x\r\r"));
        assert!(!pending(b"data: x\n\n: ping\n"));
        assert!(!pending(b"data: x\n\n\r"));
    }

    #[test]
    fn finish_reports_truncation_and_resets() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        parser
            .feed(b"id: 5\ndata: a\n\ndata: cut", &mut events)
            .unwrap();
        assert!(matches!(parser.finish(), Err(Error::Truncated(_))));
        assert!(!parser.has_pending());
        // A new stream (reconnection): the BOM is skipped again, the last event ID is kept.
        parser
            .feed("\u{FEFF}data: b\n\n".as_bytes(), &mut events)
            .unwrap();
        assert_eq!(parser.last_event_id(), "5");
        assert_eq!(parser.finish(), Ok(()));
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], msg("b"));
    }

    #[test]
    fn line_over_the_cap_is_a_protocol_error() {
        // Exactly the cap is fine, however it is split.
        let at_cap = b"data: 0123456789\n\n"; // "data: 0123456789" is 16 bytes
        assert_eq!(run_with(16, &[at_cap]).events, [msg("0123456789")]);
        assert_eq!(
            run_with(16, &at_cap.chunks(1).collect::<Vec<_>>()).events,
            [msg("0123456789")]
        );

        let over = b"data: ok\n\ndata: 0123456789abcdef\n\n";
        let whole = run_with(16, &[over]);
        assert_eq!(whole.events, [msg("ok")]);
        let Some(Error::Protocol(message)) = &whole.error else {
            panic!("expected a protocol error, got {whole:?}");
        };
        assert_eq!(message, "sse line longer than 16 bytes");
        assert!(whole.pending);
        for cut in 0..=over.len() {
            let (a, b) = over.split_at(cut);
            assert_eq!(run_with(16, &[a, b]), whole, "split at {cut}");
        }
        assert_eq!(run_with(16, &over.chunks(1).collect::<Vec<_>>()), whole);
    }

    #[test]
    fn the_line_buffer_does_not_grow_past_the_cap() {
        let mut parser = Parser::with_max_line(100);
        let mut events = Vec::new();
        let mut result = Ok(());
        for _ in 0..1000 {
            result = parser.feed(b"datadatadata", &mut events);
            assert!(parser.line.capacity() <= 100);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(Error::Protocol("sse line longer than 100 bytes".to_owned()))
        );
        // The parser is spent and has released its buffer.
        assert_eq!(parser.line.capacity(), 0);
        assert_eq!(
            parser.feed(b"\n\n", &mut events),
            Err(Error::Protocol("sse line longer than 100 bytes".to_owned()))
        );
        assert!(matches!(parser.finish(), Err(Error::Protocol(_))));
    }

    #[test]
    fn default_cap_is_one_mib() {
        let mut line = b"data: ".to_vec();
        line.resize(DEFAULT_MAX_LINE, b'x');
        let mut input = line.clone();
        input.extend_from_slice(b"\n\n");
        let out = run(&[
            &input[..DEFAULT_MAX_LINE / 2],
            &input[DEFAULT_MAX_LINE / 2..],
        ]);
        assert_eq!(out.error, None);
        assert_eq!(out.events[0].data.len(), DEFAULT_MAX_LINE - 6);

        line.push(b'x');
        let out = run(&[&line]);
        assert_eq!(
            out.error,
            Some(Error::Protocol(format!(
                "sse line longer than {DEFAULT_MAX_LINE} bytes"
            )))
        );
    }

    #[test]
    fn event_data_over_four_times_the_cap_is_a_protocol_error() {
        // Each line adds 11 bytes (10 and an LF) to the data; the data cap is 64.
        let mut input = b"data: 0123456789\n".repeat(5);
        input.extend_from_slice(b"\n");
        let out = run_with(16, &[&input]);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].data.len(), 54);

        let input = b"data: 0123456789\n".repeat(6);
        let out = run_with(16, &[&input]);
        assert_eq!(
            out.error,
            Some(Error::Protocol(
                "sse event data longer than 64 bytes".to_owned()
            ))
        );
        assert!(!format!("{:?}", out.error).contains("0123"));
    }

    #[test]
    fn buffers_are_reused_not_accumulated() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for _ in 0..10_000 {
            parser
                .feed(b"event: delta\ndata: {\"a\":", &mut events)
                .unwrap();
            parser.feed(b"1}\n\n", &mut events).unwrap();
            assert!(parser.line.is_empty() && parser.data.is_empty());
            assert!(parser.line.capacity() <= 64);
            events.clear();
        }
        // A large line's buffer is released once it is done.
        let big = vec![b'x'; 2 * KEEP_LINE_CAPACITY];
        parser.feed(b"data: ", &mut events).unwrap();
        parser.feed(&big, &mut events).unwrap();
        parser.feed(b"\n\n", &mut events).unwrap();
        assert_eq!(events.len(), 1);
        assert!(parser.line.capacity() <= KEEP_LINE_CAPACITY);
    }

    /// `transcript` (LF line ends) with every line end replaced by `end`.
    fn reframed(transcript: &str, end: &str) -> Vec<u8> {
        transcript.replace('\n', end).into_bytes()
    }

    /// Where whole events end in `input` (no byte order mark), by a naive reading: after
    /// each blank line and each comment line between events; for a line ended by CR LF, also
    /// between the two (a reader cannot wait for the LF).
    fn event_ends(input: &[u8]) -> Vec<usize> {
        let mut ends = vec![0];
        let (mut line_start, mut i, mut in_event) = (0, 0, false);
        while i < input.len() {
            let len = match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => 2,
                b'\r' | b'\n' => 1,
                _ => {
                    i += 1;
                    continue;
                }
            };
            let line = &input[line_start..i];
            if line.is_empty() {
                in_event = false;
            } else if line[0] != b':' {
                in_event = true;
            }
            if !in_event {
                ends.push(i + 1);
                ends.push(i + len);
            }
            i += len;
            line_start = i;
        }
        ends
    }

    #[test]
    fn end_reads_a_last_event_left_without_its_blank_line() {
        for end in ["\n", "\r\n", "\r"] {
            let whole = reframed(ANTHROPIC, end);
            let expected = run(&[&whole]).events;
            assert_eq!(expected.len(), 11);
            for missing in [end.len(), 2 * end.len()] {
                let input = &whole[..whole.len() - missing];
                for cut in 0..=input.len() {
                    let (a, b) = input.split_at(cut);
                    let mut parser = Parser::new();
                    let mut events = Vec::new();
                    parser.feed(a, &mut events).unwrap();
                    parser.feed(b, &mut events).unwrap();
                    assert!(parser.has_pending());
                    assert_eq!(parser.ends_mid_line(), missing == 2 * end.len());
                    parser.end(&mut events).unwrap();
                    assert_eq!(
                        events, expected,
                        "{end:?} less {missing} bytes, cut at {cut}"
                    );
                    assert!(!parser.has_pending());
                }
            }
        }
        // What is already whole is not read twice, and a stream that ends between events
        // gives nothing more.
        let mut parser = Parser::new();
        let mut events = Vec::new();
        parser.feed(b"data: a\n\n: ping\n", &mut events).unwrap();
        parser.end(&mut events).unwrap();
        assert_eq!(events, [msg("a")]);
        // A fault is reported, and nothing after it read.
        let mut parser = Parser::with_max_line(8);
        let mut events = Vec::new();
        assert!(parser.feed(b"data: 0123456789", &mut events).is_err());
        assert!(matches!(parser.end(&mut events), Err(Error::Protocol(_))));
        assert!(events.is_empty());
        // An unfinished last line over the data cap (32 bytes here) is a fault too.
        let mut parser = Parser::with_max_line(8);
        parser.feed(&b"data:123\n".repeat(8), &mut events).unwrap();
        parser.feed(b"data:1", &mut events).unwrap();
        assert_eq!(
            parser.end(&mut events),
            Err(Error::Protocol(
                "sse event data longer than 32 bytes".to_owned()
            ))
        );
        assert!(events.is_empty());
    }

    #[test]
    fn boundaries_are_where_whole_events_end() {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        let at = |p: &mut Parser, chunk: &[u8], events: &mut Vec<Event>| {
            p.feed_to_boundary(chunk, events).unwrap()
        };
        assert_eq!(
            at(&mut parser, b"data: a\n\ndata: b\n", &mut events),
            Some(9)
        );
        assert_eq!(at(&mut parser, b"\n: ping\nid: 1\n", &mut events), Some(8));
        // A comment between events is a boundary; the LF of a CR LF cut apart is one too.
        assert_eq!(at(&mut parser, b"\r\n: c\r", &mut events), Some(6));
        assert_eq!(at(&mut parser, b"\n", &mut events), Some(1));
        assert_eq!(at(&mut parser, b"data: c\r", &mut events), None);
        assert_eq!(at(&mut parser, b"\n", &mut events), None);
        assert_eq!(at(&mut parser, b"\r", &mut events), Some(1));
        assert_eq!(at(&mut parser, b"data: d", &mut events), None);
        assert_eq!(events, [msg("a"), msg("b"), msg("c")]);
    }

    /// Runs `input` through a [`WholeEvents`] in the given chunks, checking after each one
    /// that what went out is exactly the whole events received so far; returns the output,
    /// the events and the outcome of the end.
    fn relay(input: &[u8], chunks: &[&[u8]]) -> (Vec<u8>, Vec<Event>, Result<(), Error>) {
        let ends = event_ends(input);
        let mut relay = WholeEvents::new();
        let (mut out, mut events) = (Vec::new(), Vec::new());
        let mut fed = 0;
        for chunk in chunks {
            relay.feed(chunk, &mut out, &mut events).unwrap();
            fed += chunk.len();
            let whole = ends
                .iter()
                .copied()
                .filter(|&e| e <= fed)
                .max()
                .unwrap_or(0);
            assert_eq!(out, &input[..whole], "after {fed} bytes");
            assert_eq!(relay.held(), fed - whole);
        }
        let ended = relay.end(&mut out, &mut events);
        (out, events, ended)
    }

    #[test]
    fn whole_events_pass_byte_for_byte_whatever_the_line_ends_and_the_cuts() {
        for end in ["\n", "\r\n", "\r"] {
            let input = reframed(ANTHROPIC, end);
            let expected = run(&[&input]).events;
            let ones: Vec<&[u8]> = input.chunks(1).collect();
            for chunks in [vec![&input[..]], ones] {
                let (out, events, ended) = relay(&input, &chunks);
                assert_eq!(
                    (out, events, ended),
                    (input.clone(), expected.clone(), Ok(()))
                );
            }
            for cut in 0..=input.len() {
                let (a, b) = input.split_at(cut);
                let (out, events, ended) = relay(&input, &[a, b]);
                assert_eq!(out, input, "{end:?} cut at {cut}");
                assert_eq!((events, ended), (expected.clone(), Ok(())));
            }
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_completed_in_the_streams_line_end() {
        for end in ["\n", "\r\n", "\r"] {
            let whole = reframed(ANTHROPIC, end);
            let expected = run(&[&whole]).events;
            // Without the blank line, then without the last line end too.
            for missing in [end.len(), 2 * end.len()] {
                let input = &whole[..whole.len() - missing];
                for cut in 0..=input.len() {
                    let (a, b) = input.split_at(cut);
                    let (out, events, ended) = relay(input, &[a, b]);
                    assert_eq!(out, whole, "{end:?} less {missing} bytes, cut at {cut}");
                    assert_eq!((&events, &ended), (&expected, &Ok(())));
                }
            }
        }
        // A stream of one unfinished line gets LF line ends.
        let (out, events, _) = relay(b"data: x", &[b"data: x"]);
        assert_eq!((out, events), (b"data: x\n\n".to_vec(), vec![msg("x")]));
    }

    #[test]
    fn whole_events_hold_back_a_bounded_event_and_fail_past_it() {
        let mut relay = WholeEvents::with_max_line(8);
        let (mut out, mut events) = (Vec::new(), Vec::new());
        relay.feed(b"data: 1\n\n", &mut out, &mut events).unwrap();
        // Lines within the cap whose event grows past five times it.
        let mut failed = None;
        for _ in 0..10 {
            if let Err(e) = relay.feed(b"x: 12345\n", &mut out, &mut events) {
                failed = Some(e);
                break;
            }
            assert!(relay.held() <= 40);
        }
        assert_eq!(
            failed,
            Some(Error::Protocol("sse event longer than 40 bytes".to_owned()))
        );
        assert_eq!(relay.held(), 0);
        assert_eq!(out, b"data: 1\n\n");
        assert!(relay.feed(b"\n", &mut out, &mut events).is_err());
        assert!(relay.end(&mut out, &mut events).is_err());
        assert_eq!(out, b"data: 1\n\n", "nothing of the failed event goes out");
        // The same in one chunk, after a whole event: the event goes out, the rest fails.
        let mut relay = WholeEvents::with_max_line(8);
        let (mut out, mut events) = (Vec::new(), Vec::new());
        let mut chunk = b"data: 1\n\n".to_vec();
        chunk.extend_from_slice(&b"x: 12345\n".repeat(5));
        assert!(relay.feed(&chunk, &mut out, &mut events).is_err());
        assert_eq!((out, relay.held()), (b"data: 1\n\n".to_vec(), 0));
        // A line over the cap fails at once and drops what was held; the whole events before
        // it in the same chunk go out.
        let mut relay = WholeEvents::with_max_line(8);
        let (mut out, mut events) = (Vec::new(), Vec::new());
        relay
            .feed(b"data: 1\n\ndata: 2\n", &mut out, &mut events)
            .unwrap();
        assert!(
            relay
                .feed(b"\ndata: 3\n\ndata: 123456789\n\n", &mut out, &mut events)
                .is_err()
        );
        assert_eq!(relay.held(), 0);
        assert_eq!(out, b"data: 1\n\ndata: 2\n\ndata: 3\n\n");
        assert_eq!(events, [msg("1"), msg("2"), msg("3")]);
    }

    /// The standard's algorithm, written the naive way over the whole stream, as an oracle.
    fn reference(input: &[u8]) -> (Vec<Event>, String) {
        let text = String::from_utf8_lossy(input);
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        let mut lines = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    lines.push(std::mem::take(&mut current));
                }
                '\n' => lines.push(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }
        let (mut events, mut data, mut kind) = (Vec::new(), String::new(), String::new());
        let (mut id, mut retry, mut last_id) = (None::<String>, None, String::new());
        for line in lines {
            if line.is_empty() {
                if let Some(id) = &id {
                    last_id.clone_from(id);
                }
                let (id, retry) = (id.take(), retry.take());
                if !data.is_empty() {
                    data.pop();
                    let event = if kind.is_empty() {
                        "message".to_owned()
                    } else {
                        kind.clone()
                    };
                    events.push(Event {
                        event,
                        data: std::mem::take(&mut data),
                        id,
                        retry,
                    });
                }
                kind.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (name, value) = match line.split_once(':') {
                Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match name {
                "event" => kind = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => id = Some(value.to_owned()),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    retry = value.parse::<u64>().ok().or(retry);
                }
                _ => {}
            }
        }
        (events, last_id)
    }

    /// Cuts `input` at the given points (in any order, repeats allowed).
    fn split<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for point in points {
            chunks.push(&input[start..point]);
            start = point;
        }
        chunks.push(&input[start..]);
        chunks
    }

    /// Bytes that mostly look like an event stream, with noise.
    fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            3 => prop::sample::select(vec![
                &b"data"[..], b"event", b"id", b"retry", b":", b": ", b" ", b"\n", b"\r",
                b"\r\n", b"\n\n", b"\xEF\xBB\xBF", b"\xEF", b"\xBB", b"\xF0\x9F\x98\x80",
                "世".as_bytes(), b"\xFF", b"\0", b"42", b"x",
            ])
            .prop_map(<[u8]>::to_vec),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ];
        prop::collection::vec(token, 0..120).prop_map(|tokens| tokens.concat())
    }

    #[derive(Debug, Clone)]
    struct Spec {
        kind: Option<String>,
        data: Vec<String>,
        id: Option<String>,
        retry: Option<u64>,
        comment: bool,
        spaced: bool,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop::option::of("[^\r\n]{0,12}"),
            prop::collection::vec("[^\r\n]{0,20}", 1..4),
            prop::option::of("[^\r\n\u{0}]{0,10}"),
            prop::option::of(any::<u64>()),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(kind, data, id, retry, comment, spaced)| Spec {
                kind,
                data,
                id,
                retry,
                comment,
                spaced,
            })
    }

    /// Writes the events as an event stream, each line ended by the next of `ends`.
    fn serialize(specs: &[Spec], bom: bool, ends: &[u8]) -> Vec<u8> {
        let mut lines: Vec<String> = Vec::new();
        for s in specs {
            let field = |name: &str, value: &str| {
                if s.spaced || value.starts_with(' ') {
                    format!("{name}: {value}")
                } else {
                    format!("{name}:{value}")
                }
            };
            if s.comment {
                lines.push(": keep-alive".to_owned());
            }
            if let Some(id) = &s.id {
                lines.push(field("id", id));
            }
            if let Some(kind) = &s.kind {
                lines.push(field("event", kind));
            }
            lines.extend(s.data.iter().map(|d| field("data", d)));
            if let Some(retry) = s.retry {
                lines.push(field("retry", &retry.to_string()));
            }
            lines.push(String::new());
        }
        let mut out = if bom { BOM.to_vec() } else { Vec::new() };
        let mut after_cr = false;
        for (i, line) in lines.iter().enumerate() {
            let mut end = match ends.get(i % ends.len().max(1)).copied().unwrap_or(0) % 3 {
                0 => "\n",
                1 => "\r\n",
                _ => "\r",
            };
            // CR then an empty LF-ended line would read as one CRLF.
            if after_cr && line.is_empty() && end == "\n" {
                end = "\r\n";
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(end.as_bytes());
            after_cr = end == "\r";
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_split_anywhere_match_whole_and_reference(
            input in stream_bytes(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let whole = run(&[&input]);
            prop_assert_eq!(&whole.error, &None);
            prop_assert_eq!(&run(&split(&input, &cuts)), &whole);
            let (events, last_id) = reference(&input);
            prop_assert_eq!(&whole.events, &events);
            prop_assert_eq!(&whole.last_event_id, &last_id);
        }

        #[test]
        fn arbitrary_bytes_with_a_small_cap_fail_the_same_way_however_split(
            input in stream_bytes(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            max_line in 0usize..24,
        ) {
            let whole = run_with(max_line, &[&input]);
            prop_assert_eq!(&run_with(max_line, &split(&input, &cuts)), &whole);
        }

        #[test]
        fn fully_random_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..512),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            prop_assert_eq!(run(&split(&input, &cuts)), run(&[&input]));
        }

        #[test]
        fn serialized_events_pass_whole_however_split(
            specs in prop::collection::vec(spec(), 0..6),
            ends in prop::collection::vec(any::<u8>(), 1..8),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let input = serialize(&specs, false, &ends);
            let (out, events, ended) = relay(&input, &split(&input, &cuts));
            prop_assert_eq!(ended, Ok(()));
            prop_assert_eq!(out, input.clone());
            prop_assert_eq!(events, run(&[&input]).events);
        }

        #[test]
        fn serialized_events_parse_back(
            specs in prop::collection::vec(spec(), 0..6),
            bom in any::<bool>(),
            ends in prop::collection::vec(any::<u8>(), 1..8),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let input = serialize(&specs, bom, &ends);
            let expected: Vec<Event> = specs
                .iter()
                .map(|s| Event {
                    event: s
                        .kind
                        .clone()
                        .filter(|k| !k.is_empty())
                        .unwrap_or_else(|| "message".to_owned()),
                    data: s.data.join("\n"),
                    id: s.id.clone(),
                    retry: s.retry,
                })
                .collect();
            let out = run(&split(&input, &cuts));
            prop_assert_eq!(&out.error, &None);
            prop_assert_eq!(&out.events, &expected);
            prop_assert!(!out.pending);
            let last_id = specs.iter().rev().find_map(|s| s.id.clone()).unwrap_or_default();
            prop_assert_eq!(out.last_event_id, last_id);
        }
    }
}
