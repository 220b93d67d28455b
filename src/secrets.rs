//! Keeping secrets out of messages: every text the provider quotes from an upstream (error
//! bodies, malformed events) passes through [`quote`], which removes the secrets in every form
//! the provider knows and only then cuts the text to length, so no prefix of a secret survives
//! a cut.
//!
//! The forms of a secret (a bearer token, an access key id, a secret key, a session token):
//! - the secret itself, and its URL-decoded form;
//! - its base64 encodings (standard and URL-safe, at each of the three alignments it can have
//!   inside a longer base64 text);
//! - for a minted token (`bedrock-api-key-` + base64 of a presigned URL): the base64 text, and
//!   the URL's secret values: access key id, signature and security token, raw and
//!   URL-decoded.
//!
//! A text loses every run of [`MIN_FRAGMENT`] or more characters that also occurs in one of
//! those forms, so a secret echoed in part is removed too. Public parts of a token (its
//! `bedrock-api-key-` prefix, the presigned URL's fixed words) are not forms, so ordinary text
//! such as a host name survives.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

/// The shortest run of a secret's characters that is removed from a text.
pub const MIN_FRAGMENT: usize = 8;

/// What replaces a removed run.
pub const REDACTED: &str = "<redacted>";

/// The prefix of a Mantle bearer token; public, the same in every token.
const TOKEN_PREFIX: &str = "bedrock-api-key-";

/// Query parameters of a presigned URL whose values are secret (or identify the key).
const SECRET_PARAMETERS: [&str; 3] = [
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// Secrets to keep out of messages, ready to be searched for.
#[derive(Default)]
pub struct Secrets {
    /// Every window of [`MIN_FRAGMENT`] bytes of every form of every secret.
    windows: HashSet<[u8; MIN_FRAGMENT]>,
    /// The secrets themselves, replaced whole before the windows are searched for (a token's
    /// public prefix is not a form of its own, but the whole token is).
    whole: Vec<String>,
    /// The longest form's length, in bytes.
    longest: usize,
}

impl core::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

impl Secrets {
    /// The forms of these secrets; empty and short ones (under [`MIN_FRAGMENT`] characters)
    /// are ignored.
    pub fn new(secrets: &[&str]) -> Secrets {
        let mut out = Secrets::default();
        for secret in secrets {
            let secret = secret.trim();
            if secret.len() < MIN_FRAGMENT {
                continue;
            }
            out.whole.push(secret.to_owned());
            out.longest = out.longest.max(secret.len());
            for form in forms(secret) {
                out.add(form.as_bytes());
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        out.whole.sort_by_key(|w| core::cmp::Reverse(w.len()));
        out
    }

    fn add(&mut self, form: &[u8]) {
        if form.len() < MIN_FRAGMENT {
            return;
        }
        self.longest = self.longest.max(form.len());
        for window in form.windows(MIN_FRAGMENT) {
            let mut key = [0; MIN_FRAGMENT];
            key.copy_from_slice(window);
            self.windows.insert(key);
        }
    }

    /// Whether there is nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.whole.is_empty()
    }

    /// The length in bytes of the longest form: a text cut at a byte limit may end in a
    /// partial secret only within this many bytes of its end.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// `text` with every run of a secret's characters replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        if self.whole.is_empty() || text.len() < MIN_FRAGMENT {
            return text.to_owned();
        }
        let mut replaced = None;
        for secret in &self.whole {
            let current: &str = replaced.as_deref().unwrap_or(text);
            if current.contains(secret.as_str()) {
                replaced = Some(current.replace(secret.as_str(), REDACTED));
            }
        }
        let text: &str = replaced.as_deref().unwrap_or(text);
        let bytes = text.as_bytes();
        // Ranges covered by a secret's window, merged as they are found (they come in order).
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (start, window) in bytes.windows(MIN_FRAGMENT).enumerate() {
            let mut key = [0; MIN_FRAGMENT];
            key.copy_from_slice(window);
            if !self.windows.contains(&key) {
                continue;
            }
            let end = start + MIN_FRAGMENT;
            match ranges.last_mut() {
                Some(last) if start <= last.1 => last.1 = end,
                _ => ranges.push((start, end)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            let (start, end) = (floor_char(text, start), ceil_char(text, end));
            if start < at {
                continue;
            }
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at.min(text.len())..]);
        out
    }
}

/// The last char boundary at or before `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The first char boundary at or after `i`.
fn ceil_char(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

/// Every form in which `secret` may be echoed.
fn forms(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    if secret.len() < MIN_FRAGMENT {
        return out;
    }
    let core = secret.strip_prefix(TOKEN_PREFIX).unwrap_or(secret);
    out.push(core.to_owned());
    out.push(crate::text::uri_encode(core));
    if let Some(decoded) = percent_decode(core) {
        out.push(decoded);
    }
    for start in 0..3 {
        if let Some(tail) = core.get(start..) {
            for engine in [&STANDARD, &URL_SAFE] {
                let encoded = engine.encode(tail);
                out.push(encoded.trim_end_matches('=').to_owned());
            }
        }
    }
    if core.len() != secret.len() {
        // A minted token: the presigned URL's secret values.
        if let Some(url) = STANDARD
            .decode(core)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            let query = url.split_once('?').map_or("", |(_, q)| q);
            for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
                if !SECRET_PARAMETERS.contains(&name) {
                    continue;
                }
                let value = match name {
                    // `AKIA.../date/region/bedrock/aws4_request`: only the key id identifies.
                    "X-Amz-Credential" => value.split("%2F").next().unwrap_or(value),
                    _ => value,
                };
                out.push(value.to_owned());
                if let Some(decoded) = percent_decode(value) {
                    out.push(decoded);
                }
            }
        }
    }
    out
}

/// `%XX`-decoded text, when it has escapes and decodes to UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push(((hex(h).unwrap_or(0) << 4) | hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `text` with `secrets` removed, then whitespace collapsed and cut to `max_chars` characters
/// (with `...` when cut): redaction always comes first.
pub fn quote(text: &str, secrets: &Secrets, max_chars: usize) -> String {
    let clean = secrets.redact(text);
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    match clean.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean,
    }
}

/// A body read up to `limit` bytes, made safe to quote: when it reached the limit (and so may
/// have been cut), its last [`Secrets::longest`] bytes are dropped, since a secret straddling
/// the cut would leave a prefix too short to recognise.
pub fn drop_cut_tail(body: &mut Vec<u8>, limit: usize, secrets: &Secrets) {
    if body.len() >= limit {
        body.truncate(body.len().saturating_sub(secrets.longest()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minted token from the official fixture (FACTS.md), with a session token added.
    fn minted() -> String {
        let url = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2Fsession&X-Amz-SignedHeaders=host&X-Amz-Signature=924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df&Version=1";
        format!("{TOKEN_PREFIX}{}", STANDARD.encode(url))
    }

    /// No run of `MIN_FRAGMENT` characters of `echo` is left in `text`.
    fn assert_clean(text: &str, echo: &str) {
        for i in 0..=echo.len() - MIN_FRAGMENT {
            let part = &echo[i..i + MIN_FRAGMENT];
            assert!(
                !text.contains(part),
                "{part:?} of {echo:?} survives in {text:?}"
            );
        }
    }

    #[test]
    fn whole_tokens_and_fragments_of_eight_or_more_are_removed() {
        let token = "sk-static-0123456789abcdefghij";
        let s = Secrets::new(&[token]);
        let said = s.redact(&format!("bad key {token} and {} again", &token[5..14]));
        assert_eq!(said, "bad key <redacted> and <redacted> again");
        // Seven characters are not a fragment: ordinary words survive.
        assert_eq!(s.redact("static-"), "static-");
    }

    #[test]
    fn encoded_forms_are_removed() {
        let token = "sk-static-0123456789abcdefghij";
        let s = Secrets::new(&[token]);
        for encoded in [
            STANDARD.encode(token),
            URL_SAFE.encode(format!("x{token}")),
            STANDARD.encode(format!("ab{token}!")),
        ] {
            let said = s.redact(&format!("echo: {encoded}"));
            assert!(said.contains(REDACTED), "{encoded} -> {said}");
            // What remains of the encoding is at most the few characters at its edges.
            let left = said.replace("echo: ", "").replace(REDACTED, "");
            assert!(left.len() < MIN_FRAGMENT * 2, "{encoded} -> {said}");
        }
        let pct = Secrets::new(&["key/with+chars=="]);
        assert_eq!(pct.redact("q=key%2Fwith%2Bchars%3D%3D"), "q=<redacted>");
        let decoded = Secrets::new(&["key%2Fwith%2Bchars"]);
        assert_eq!(decoded.redact("got key/with+chars"), "got <redacted>");
    }

    #[test]
    fn a_minted_tokens_base64_and_its_secret_values_are_removed() {
        let token = minted();
        let s = Secrets::new(&[&token]);
        let body = &token[TOKEN_PREFIX.len()..];
        for echo in [
            token.clone(),
            body[..40].to_owned(),
            body[100..140].to_owned(),
            "AKIAIOSFODNN7EXAMPLE".to_owned(),
            "924fe715b07676257098c59ab6ec75da".to_owned(),
            "IQoJb3JpZ2luX2VjEJr/////session".to_owned(),
        ] {
            let said = s.redact(&format!("denied: {echo}."));
            assert_clean(&said, &echo);
        }
        // The public words of a token are not secrets.
        let said = s.redact("use bedrock-mantle.us-west-2.api.aws with AWS4-HMAC-SHA256");
        assert_eq!(
            said,
            "use bedrock-mantle.us-west-2.api.aws with AWS4-HMAC-SHA256"
        );
    }

    #[test]
    fn redaction_comes_before_the_cut() {
        let token = "sk-abcdefghijklmnopqrstuvwxyz0123456789";
        let s = Secrets::new(&[token]);
        // The secret straddles the cut at every offset: no prefix of it survives.
        for pad in 0..token.len() + 4 {
            let text = format!("{}{token} tail", "x".repeat(pad));
            let said = quote(&text, &s, 20);
            for n in 3..=token.len() {
                let prefix = &token[..n];
                assert!(!said.contains(prefix), "pad {pad}: {prefix:?} in {said:?}");
            }
        }
        // A body cut at a byte limit drops what a secret may straddle.
        let mut body = format!("{}{}", "y".repeat(30), &token[..5]).into_bytes();
        drop_cut_tail(&mut body, 35, &s);
        assert!(!String::from_utf8_lossy(&body).contains("sk-ab"));
        let mut short = b"short".to_vec();
        drop_cut_tail(&mut short, 35, &s);
        assert_eq!(short, b"short");
    }

    #[test]
    fn non_ascii_text_is_cut_on_char_boundaries() {
        let s = Secrets::new(&["ééééééééé-secret"]);
        let said = s.redact("x ééééééééé-secret y — ok");
        assert_eq!(said, "x <redacted> y — ok");
        assert_eq!(quote("ääää", &s, 2), "ää...");
    }

    /// How an upstream may echo a secret, written here without the redactor's own code.
    #[derive(Debug, Clone, Copy)]
    enum Echo {
        /// A run of its characters, as they are.
        Raw,
        /// A run of its URL-encoded form.
        UrlEncoded,
        /// Inside a longer text, base64-encoded (standard or URL-safe).
        Base64 { url_safe: bool },
    }

    /// Every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`.
    fn url_encoded(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// The runs of [`MIN_FRAGMENT`] characters that give a secret away in an echo: those of
    /// the secret and of its URL-encoded form, and in base64 those characters that encode the
    /// secret's bytes alone (whatever surrounds them).
    fn giveaways(secret: &str) -> Vec<String> {
        let mut texts = vec![secret.to_owned(), url_encoded(secret)];
        for start in 0..3 {
            for engine in [&STANDARD, &URL_SAFE] {
                let encoded = engine.encode(&secret.as_bytes()[start..]);
                // The last group may mix in what follows the secret.
                let whole = (secret.len() - start) / 3 * 4;
                texts.push(encoded[..whole].to_owned());
            }
        }
        texts
            .iter()
            .filter(|t| t.len() >= MIN_FRAGMENT)
            .flat_map(|t| {
                (0..=t.len() - MIN_FRAGMENT)
                    .map(|i| t[i..i + MIN_FRAGMENT].to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|w| !REDACTED.contains(w.as_str()))
            .collect()
    }

    /// A secret and a text that echoes it (`echo`), with text around it.
    fn echoed() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        let echo = prop_oneof![
            Just(Echo::Raw),
            Just(Echo::UrlEncoded),
            any::<bool>().prop_map(|url_safe| Echo::Base64 { url_safe }),
        ];
        (
            "[A-Za-z0-9/+=_%-]{8,48}",
            echo,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            "[ -~]{0,24}",
            "[ -~]{0,24}",
        )
            .prop_map(|(secret, echo, start, len, before, after)| {
                let shown = match echo {
                    Echo::Raw => secret.clone(),
                    Echo::UrlEncoded => url_encoded(&secret),
                    Echo::Base64 { url_safe } => {
                        let engine = if url_safe { &URL_SAFE } else { &STANDARD };
                        let around = format!("{before}{secret}{after}");
                        return (secret, engine.encode(around));
                    }
                };
                let from = start.index(shown.len() - MIN_FRAGMENT + 1);
                let to = from + MIN_FRAGMENT + len.index(shown.len() - from - MIN_FRAGMENT + 1);
                let text = format!("{before}{}{after}", &shown[from..to]);
                (secret, text)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn no_run_of_eight_secret_characters_survives_in_any_form(
            (secret, text) in echoed(),
            max in 0usize..80,
        ) {
            let secrets = Secrets::new(&[&secret]);
            let windows = giveaways(&secret);
            for out in [secrets.redact(&text), quote(&text, &secrets, max)] {
                for window in &windows {
                    proptest::prop_assert!(
                        !out.contains(window.as_str()),
                        "{window:?} of {secret:?} survives in {out:?}"
                    );
                }
            }
        }
    }
}
