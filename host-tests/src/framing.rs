//! Other framings of the same event stream, for the emulator to answer with: the SSE standard
//! lets a server end its lines with `\n`, `\r\n` or `\r`, cut its writes anywhere, and a body
//! that ends cleanly may leave out the blank line after its last event. A client that reads
//! only one way breaks on a server that writes another; [`reframe`] writes a stream each way.

/// The line end a stream is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// `\n`, as Mantle writes today.
    Lf,
    /// `\r\n`.
    CrLf,
    /// `\r` alone.
    Cr,
}

impl LineEnd {
    /// Every line end, in the order tests try them.
    pub const ALL: [LineEnd; 3] = [LineEnd::Lf, LineEnd::CrLf, LineEnd::Cr];

    /// Its bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnd::Lf => "\n",
            LineEnd::CrLf => "\r\n",
            LineEnd::Cr => "\r",
        }
    }
}

/// How the stream's last event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Its last line, then a blank line, as the standard writes it.
    BlankLine,
    /// Its last line ended, but no blank line after it.
    NoBlankLine,
    /// Not even its last line ended.
    NoLineEnd,
}

/// A framing of the emulator's streamed answers (`Emulator::set_framing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// The line end of every line.
    pub line_end: LineEnd,
    /// How the last event ends.
    pub tail: Tail,
    /// Bytes per write, `None` for a write per event. Writes of a few bytes cut events, line
    /// ends (a CR LF pair) and UTF-8 sequences anywhere.
    pub piece: Option<usize>,
}

impl Framing {
    /// Events written whole, each line ended by `line_end`, as the standard writes them.
    pub fn lines(line_end: LineEnd) -> Framing {
        Framing {
            line_end,
            tail: Tail::BlankLine,
            piece: None,
        }
    }

    /// The same framing with the last event ending as `tail` says.
    pub fn ending(mut self, tail: Tail) -> Framing {
        self.tail = tail;
        self
    }

    /// The same framing in writes of `bytes` bytes.
    pub fn in_pieces(mut self, bytes: usize) -> Framing {
        self.piece = Some(bytes.max(1));
        self
    }
}

/// `body`, an event stream, with every line end (`\n`, `\r\n` or `\r`) written as
/// `framing.line_end` and its end cut as `framing.tail` says. Event data is JSON, whose strings
/// escape line breaks, so a line end in the body is always one of the stream's.
pub fn reframe(body: &str, framing: &Framing) -> String {
    let end = framing.line_end.as_str();
    let mut out = String::with_capacity(body.len() + body.len() / 16);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str(end);
            }
            '\n' => out.push_str(end),
            c => out.push(c),
        }
    }
    let cut = match framing.tail {
        Tail::BlankLine => 0,
        Tail::NoBlankLine => 1,
        Tail::NoLineEnd => 2,
    };
    for _ in 0..cut {
        if let Some(stripped) = out.strip_suffix(end) {
            out.truncate(stripped.len());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::emulator::{Emulator, EmulatorConfig, Script, http_request};
    use crate::transcripts;

    const BODY: &str =
        "event: a\ndata: {\"t\":\"x\\ny\"}\n\nevent: b\r\ndata: 2\r\n\r\ndata: é\r\r";

    #[test]
    fn every_line_end_is_rewritten_and_nothing_else() {
        let crlf = reframe(BODY, &Framing::lines(LineEnd::CrLf));
        assert_eq!(
            crlf,
            "event: a\r\ndata: {\"t\":\"x\\ny\"}\r\n\r\nevent: b\r\ndata: 2\r\n\r\ndata: é\r\n\r\n"
        );
        assert_eq!(
            reframe(&crlf, &Framing::lines(LineEnd::Lf)),
            crlf.replace("\r\n", "\n")
        );
        assert_eq!(
            reframe(&crlf, &Framing::lines(LineEnd::Cr)),
            crlf.replace("\r\n", "\r")
        );
    }

    #[test]
    fn the_tail_is_cut_as_asked() {
        let lf = Framing::lines(LineEnd::Lf);
        assert!(reframe(BODY, &lf.ending(Tail::NoBlankLine)).ends_with("data: é\n"));
        assert!(reframe(BODY, &lf.ending(Tail::NoLineEnd)).ends_with("data: é"));
        let cr = Framing::lines(LineEnd::Cr).ending(Tail::NoBlankLine);
        assert!(reframe(BODY, &cr).ends_with("data: 2\r\rdata: é\r"));
    }

    #[tokio::test]
    async fn the_emulator_streams_its_answers_in_the_framing_it_is_given() {
        let emulator = Emulator::start(EmulatorConfig {
            static_keys: vec!["framing-key".into()],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let model = transcripts::CLAUDE_MODEL;
        let body = serde_json::json!({"model": model, "max_tokens": 64, "stream": true,
            "messages": [{"role": "user", "content": "Hi"}]});
        // A script: the same bytes every time (the emulator's own answers have fresh ids).
        let plain = transcripts::anthropic_text(model).body;
        emulator.set_script(Script::new(plain.clone()));
        let post = || {
            http_request(
                emulator.addr(),
                "POST",
                "/anthropic/v1/messages",
                &[
                    ("authorization", "Bearer framing-key"),
                    ("content-type", "application/json"),
                    ("anthropic-version", "2023-06-01"),
                ],
                body.to_string().into(),
            )
        };
        let (status, _, got) = post().await.unwrap();
        assert_eq!((status, &got[..]), (200, plain.as_bytes()));
        let framing = Framing::lines(LineEnd::CrLf)
            .ending(Tail::NoBlankLine)
            .in_pieces(3);
        emulator.set_framing(Some(framing));
        let (status, _, got) = post().await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(got, reframe(&plain, &framing).as_bytes());
        assert!(got.ends_with(b"\"message_stop\"}\r\n"));
        emulator.set_framing(None);
        let (_, _, got) = post().await.unwrap();
        assert_eq!(got, plain.as_bytes());
    }
}
