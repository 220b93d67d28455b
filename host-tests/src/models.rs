//! How `mantle-host` shows models: the configuration's JSON field names, or a table.

use serde_json::{Value, json};

use crate::runtime::types::{Api, Modality, Model, ModelSource};

/// The configuration's spelling of an api.
pub fn api_name(api: Api) -> &'static str {
    match api {
        Api::OpenaiCompletions => "openai-completions",
        Api::AnthropicMessages => "anthropic-messages",
        Api::OpenaiResponses => "openai-responses",
    }
}

fn source_name(source: ModelSource) -> &'static str {
    match source {
        ModelSource::Discovered => "discovered",
        ModelSource::Configured => "configured",
        ModelSource::BuiltIn => "built-in",
    }
}

/// The provider every model of this component belongs to, as model references spell it.
pub const PROVIDER: &str = "amazon-bedrock-mantle";

/// One model with the configuration's field names, and the `provider` it belongs to.
pub fn model_json(m: &Model) -> Value {
    let input: Vec<&str> = m
        .input
        .iter()
        .map(|i| match i {
            Modality::Text => "text",
            Modality::Image => "image",
        })
        .collect();
    json!({
        "provider": PROVIDER,
        "id": m.id,
        "name": m.name,
        "api": api_name(m.api),
        "reasoning": m.reasoning,
        "input": input,
        "cost": m.cost.as_ref().map(|c| json!({
            "input": c.input,
            "output": c.output,
            "cacheRead": c.cache_read,
            "cacheWrite": c.cache_write,
        })),
        "contextWindow": m.context_window,
        "maxTokens": m.max_tokens,
    })
}

/// The array `models list --json` prints.
pub fn to_json(models: &[Model]) -> Value {
    Value::Array(models.iter().map(model_json).collect())
}

/// `text` for a terminal: control characters escaped (`\n`, `\u{1b}`), so a cell stays on
/// its line and prints no escape sequence; everything else as it is.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// A readable table: provider, id, api, reasoning, context, max tokens, source. Ids are
/// escaped ([`printable`]).
pub fn table(models: &[Model]) -> String {
    let header = [
        "PROVIDER",
        "ID",
        "API",
        "REASONING",
        "CONTEXT",
        "MAX TOKENS",
        "SOURCE",
    ];
    let rows: Vec<[String; 7]> = models
        .iter()
        .map(|m| {
            [
                PROVIDER.to_owned(),
                printable(&m.id),
                api_name(m.api).to_owned(),
                if m.reasoning { "yes" } else { "no" }.to_owned(),
                m.context_window.to_string(),
                m.max_tokens.to_string(),
                source_name(m.source).to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    if models.is_empty() {
        out.push_str("(no models)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::types::Cost;

    fn model(id: &str) -> Model {
        Model {
            id: id.to_owned(),
            name: id.to_owned(),
            api: Api::OpenaiCompletions,
            reasoning: false,
            input: vec![Modality::Text],
            cost: Some(Cost {
                input: 0.0,
                output: 0.0,
                cache_read: 0.0,
                cache_write: 0.0,
            }),
            context_window: 32_000,
            max_tokens: 4_096,
            source: ModelSource::Discovered,
            created: None,
        }
    }

    #[test]
    fn the_table_escapes_what_it_prints_and_names_the_provider() {
        let text = table(&[
            model("evil\nphantom"),
            model("red\u{1b}[31m"),
            model("naïve.模型"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(
            lines[1].starts_with("amazon-bedrock-mantle  evil\\nphantom"),
            "{text}"
        );
        assert!(lines[2].contains("red\\u{1b}[31m"), "{text}");
        assert!(lines[3].contains("naïve.模型"), "{text}");
        assert_eq!(model_json(&model("a"))["provider"], PROVIDER);
    }
}
