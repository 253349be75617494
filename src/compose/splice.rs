//! The fast way to edit a compose file sync writes: the changed services (and
//! the changed lines of the `x-mcpm` base, and the networks or volumes the
//! new services need) are located by one scan of the text and replaced by
//! mcpm's emitter, so the cost grows with what changes, not with the file.
//!
//! It writes exactly the text the lossless editor (`compose::edit`) writes
//! for the same edits, and refuses (returns `None`, and the caller takes the
//! full path) whenever it cannot prove its result by these cheap checks:
//! - the top-level keys found at column 0, and the services found at one
//!   indent under a block `services:`, are the parsed document's, in order;
//! - every span it replaces is, byte for byte, what the emitter writes for
//!   the value the parsed document holds there (so it holds no comment,
//!   anchor, alias, tab, flow collection or odd indentation);
//! - every text it writes is parsed back and equals the intended value.
//!
//! Everything outside the replaced spans is copied unchanged.
use std::ops::Range;

use serde_yaml_ng::{Mapping, Value};

use super::yaml::{push_entry, string};

/// One edit of the services: `Some(new)` sets the service, `None` removes it.
pub type ServiceEdit<'a> = (&'a str, Option<&'a Value>);

/// Everything one sync changes in the compose file, in the order the full
/// path applies it.
pub struct Edits<'a> {
    pub services: Vec<ServiceEdit<'a>>,
    /// `(top-level key, name, value)` entries added to `networks`/`volumes`.
    pub additions: Vec<(&'a str, &'a str, &'a Value)>,
    /// The new value of the top-level `key` (the `x-mcpm` block).
    pub top: (&'a str, &'a Value),
}

/// A key line of a block mapping: where its entry's text starts and ends
/// (its last content line; comments and blank lines after it are left out).
#[derive(Debug, Clone)]
struct Entry<'t> {
    key: &'t str,
    /// The key line's start and the end of the entry's last content line.
    span: Range<usize>,
}

/// The compose file's new text with `edits` applied: spliced when the splice
/// can prove its result, else by the lossless tree editor with a full
/// verification (`edit::apply_verified`), which writes the same text.
pub fn apply(text: &str, document: &Value, edits: &Edits<'_>) -> Result<String, String> {
    match splice(text, document, edits) {
        Some(new_text) => Ok(new_text),
        None => super::edit::apply_verified(text, document, edits),
    }
}

/// The edited text, or `None` when the splice cannot prove it.
pub fn splice(text: &str, document: &Value, edits: &Edits<'_>) -> Option<String> {
    let root = document.as_mapping()?;
    let top = entries(text, 0..text.len(), 0)?;
    if !same_keys(&top, root) {
        return None;
    }
    let mut replacements: Vec<(Range<usize>, String)> = Vec::new();

    if !edits.services.is_empty() {
        let block = top.iter().find(|e| e.key == "services")?;
        let old_services = root.get("services")?.as_mapping()?;
        // `services:` alone on its line, children one indent further.
        if text[block.span.start..].split('\n').next()?.trim_end() != "services:" {
            return None;
        }
        let body = line_end(text, block.span.start)..block.span.end;
        // Two columns, the emitter's own step: the tree editor's output for
        // other indentations is not proven the same.
        let indent = first_indent(text, body.clone()).filter(|&i| i == 2)?;
        let children = entries(text, body, indent)?;
        if !same_keys(&children, old_services) || children.is_empty() {
            return None;
        }
        let mut appended = String::new();
        let mut touched = std::collections::HashSet::new();
        for &(name, new) in &edits.services {
            if !touched.insert(name) {
                return None;
            }
            let key = Value::from(name);
            let old = children.iter().find(|e| e.key == name);
            match (old, new) {
                (Some(entry), new) => {
                    let old_value = old_services.get(name)?;
                    if !emitted_as(text, entry.span.clone(), &key, old_value, indent) {
                        return None;
                    }
                    let written = match new {
                        Some(new) if new == old_value => continue,
                        Some(new) => {
                            let merged = merged(old_value, new)?;
                            let written = emit(&key, &merged, indent);
                            check(&written, name, new)?;
                            written
                        }
                        None => String::new(),
                    };
                    replacements.push((
                        entry.span.start..line_end(text, entry.span.end - 1),
                        written,
                    ));
                }
                (None, Some(new)) => {
                    if string(name) != name {
                        return None;
                    }
                    let written = emit(&key, new, indent);
                    check(&written, name, new)?;
                    appended.push_str(&written);
                }
                (None, None) => {}
            }
        }
        let removed = edits
            .services
            .iter()
            .filter(|(name, new)| new.is_none() && children.iter().any(|e| e.key == *name))
            .count();
        if removed == children.len() && appended.is_empty() {
            // Every service removed: the tree editor writes `services: {}`,
            // where dropping their lines would leave `services:` (null).
            return None;
        }
        if !appended.is_empty() {
            // New services go after the last one's last content line, as the
            // tree editor puts them. Comments or blank lines after it could
            // still be part of its value (a block scalar's kept blank lines,
            // a quoted scalar's last line): only with none of those
            // characters in its text are they surely outside.
            let last = children.last()?;
            let at = line_end(text, last.span.end - 1);
            let rest = &text[at..];
            let trailing_filler =
                !rest.is_empty() && rest.split('\n').next().is_some_and(is_filler);
            if trailing_filler && text[last.span.clone()].contains(['|', '>', '"', '\'']) {
                return None;
            }
            replacements.push((at..at, appended));
        }
    }

    for group in ["networks", "volumes"] {
        let added: Vec<(&str, &Value)> = edits
            .additions
            .iter()
            .filter(|(key, _, _)| *key == group)
            .map(|(_, name, value)| (*name, *value))
            .collect();
        if added.is_empty() {
            continue;
        }
        let Some(entry) = top.iter().find(|e| e.key == group) else {
            // A new block goes at the end of the file, after its last
            // content line (a file ending in a comment is left to the editor).
            let last = lines(text, 0..text.len()).last()?;
            if !text.ends_with('\n') || is_filler(&text[last.0..last.1]) {
                return None;
            }
            let new = Value::Mapping(
                added
                    .iter()
                    .map(|(name, value)| (Value::from(*name), (*value).clone()))
                    .collect(),
            );
            if added.iter().any(|(name, _)| string(name) != *name) {
                return None;
            }
            let written = emit(&group.into(), &new, 0);
            check(&written, group, &new)?;
            replacements.push((text.len()..text.len(), written));
            continue;
        };
        let old = root.get(group)?;
        let Value::Mapping(old_map) = old else {
            return None;
        };
        if old_map.is_empty() || !emitted_as(text, entry.span.clone(), &group.into(), old, 0) {
            return None;
        }
        let mut new_map = old_map.clone();
        for (name, value) in added {
            if string(name) != name || new_map.insert(name.into(), value.clone()).is_some() {
                return None;
            }
        }
        let new = Value::Mapping(new_map);
        let written = emit(&group.into(), &new, 0);
        check(&written, group, &new)?;
        replacements.push((
            entry.span.start..line_end(text, entry.span.end - 1),
            written,
        ));
    }

    let (top_key, new_top) = edits.top;
    let entry = top.iter().find(|e| e.key == top_key)?;
    let old_top = root.get(top_key)?;
    if old_top != new_top {
        let span = entry.span.start..line_end(text, entry.span.end - 1);
        replacements.push((span, top_block(text, entry, top_key, old_top, new_top)?));
    }

    replaced(text, 0..text.len(), replacements)
}

/// `text[within]` with each range replaced by its text; `None` when two
/// ranges overlap.
fn replaced(
    text: &str,
    within: Range<usize>,
    mut replacements: Vec<(Range<usize>, String)>,
) -> Option<String> {
    replacements.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = String::with_capacity(within.len() + 4096);
    let mut at = within.start;
    for (range, written) in replacements {
        if range.start < at {
            return None;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&written);
        at = range.end;
    }
    out.push_str(&text[at..within.end]);
    Some(out)
}

/// The new text of a top-level block whose entries are one line each (the
/// `x-mcpm` base: a thousand servers, one line per server). Edited line by
/// line where the layout allows ([`block_lines`]), else checked against the
/// emitter's text of the old value and written whole; either way verified by
/// parsing only the lines that changed.
fn top_block(text: &str, entry: &Entry<'_>, key: &str, old: &Value, new: &Value) -> Option<String> {
    if let Some(written) = block_lines(text, entry, key, old, new) {
        prove_changed_lines(old, new)?;
        return Some(written);
    }
    let key_value = Value::from(key);
    if !emitted_as(text, entry.span.clone(), &key_value, old, 0) {
        return None;
    }
    let merged = merged(old, new)?;
    let written = emit(&key_value, &merged, 0);
    if !matches!((old, &merged), (Value::Mapping(_), Value::Mapping(_))) {
        check(&written, key, new)?;
        return Some(written);
    }
    prove_changed_lines(old, &merged)?;
    // And the whole new value is what was intended (a cheap tree compare).
    (merged == *new).then_some(written)
}

/// The block `key:` with its children (`profile`, `base`) two columns in and
/// the base's entries one line each four columns in, edited by its lines:
/// unchanged lines are kept, each changed or removed one must be the
/// emitter's text of its old value, added entries go after the last one (where
/// the tree editor puts them). This writes what emitting the whole merged
/// value writes, without emitting a thousand unchanged lines twice. `None`
/// for any other layout, a comment or blank line inside, or a child added or
/// removed.
fn block_lines(
    text: &str,
    entry: &Entry<'_>,
    key: &str,
    old: &Value,
    new: &Value,
) -> Option<String> {
    let (Value::Mapping(old_map), Value::Mapping(new_map)) = (old, new) else {
        return None;
    };
    let start = entry.span.start;
    let end = line_end(text, entry.span.end - 1);
    // A last line without its newline is left to the whole-block path.
    if !text[..end].ends_with('\n')
        || text[start..].split('\n').next()? != format!("{key}:")
        || string(key) != key
    {
        return None;
    }
    let body = line_end(text, start)..entry.span.end;
    if lines(text, body.clone()).any(|(s, e)| is_filler(&text[s..e])) {
        return None;
    }
    let children = entries(text, body, 2)?;
    if !same_keys(&children, old_map)
        || old_map.len() != new_map.len()
        || !old_map.keys().zip(new_map.keys()).all(|(a, b)| a == b)
    {
        return None;
    }
    let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
    for child in &children {
        let name = Value::from(child.key);
        let (old_value, new_value) = (old_map.get(&name)?, new_map.get(&name)?);
        if old_value == new_value {
            continue;
        }
        let child_end = line_end(text, child.span.end - 1);
        match (old_value, new_value) {
            (Value::Mapping(o), Value::Mapping(n)) if !o.is_empty() && !n.is_empty() => {
                if text[child.span.start..].split('\n').next()? != format!("  {}:", child.key) {
                    return None;
                }
                let inner = line_end(text, child.span.start)..child.span.end;
                let lines_found = entries(text, inner, 4)?;
                if !same_keys(&lines_found, o) {
                    return None;
                }
                for line in &lines_found {
                    let line_key = Value::from(line.key);
                    let was = o.get(&line_key)?;
                    let now = n.get(&line_key);
                    if now == Some(was) {
                        continue;
                    }
                    let span = line.span.start..line_end(text, line.span.end - 1);
                    if line_end(text, line.span.start) != span.end
                        || !emitted_as(text, line.span.clone(), &line_key, was, 4)
                    {
                        return None;
                    }
                    let written = match now {
                        Some(now) => {
                            flat(now)?;
                            emit(&line_key, now, 4)
                        }
                        None => String::new(),
                    };
                    replacements.push((span, written));
                }
                let mut added = String::new();
                for (line_key, value) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
                    let plain = line_key.as_str()?;
                    if string(plain) != plain {
                        return None;
                    }
                    flat(value)?;
                    push_entry(line_key, value, 4, &mut added);
                }
                if !added.is_empty() {
                    replacements.push((child_end..child_end, added));
                }
            }
            _ => {
                if !emitted_as(text, child.span.clone(), &name, old_value, 2) {
                    return None;
                }
                replacements.push((child.span.start..child_end, emit(&name, new_value, 2)));
            }
        }
    }
    replaced(text, start..end, replacements)
}

/// Parses the lines that change between two values of a block written one
/// line per entry (the base's entries one level down): under their keys they
/// must read back as the new values. The rest of the block is bytes already
/// in the file, or proven the emitter's text of the same values.
fn prove_changed_lines(old: &Value, new: &Value) -> Option<()> {
    let (Value::Mapping(old_map), Value::Mapping(new_map)) = (old, new) else {
        return Some(());
    };
    let mut proof = String::new();
    let mut expected = Mapping::new();
    for (k, v) in new_map {
        match (old_map.get(k), v) {
            (Some(o), _) if o == v => {}
            (Some(Value::Mapping(o)), Value::Mapping(n)) if !o.is_empty() && !n.is_empty() => {
                // One level down (the base's entries): only changed entries.
                let mut changed = Mapping::new();
                for (name, line) in n {
                    if o.get(name) != Some(line) {
                        flat(line)?;
                        changed.insert(name.clone(), line.clone());
                    }
                }
                if !changed.is_empty() {
                    let changed = Value::Mapping(changed);
                    push_entry(k, &changed, 0, &mut proof);
                    expected.insert(k.clone(), changed);
                }
            }
            _ => {
                push_entry(k, v, 0, &mut proof);
                expected.insert(k.clone(), v.clone());
            }
        }
    }
    // The proof text is the new block's changed lines under their keys: the
    // same bytes, since every entry is one line of the emitter's output.
    if !expected.is_empty() {
        let reread: Value = serde_yaml_ng::from_str(&proof).ok()?;
        if reread != Value::Mapping(expected) {
            return None;
        }
    }
    Some(())
}

/// A value written on the key's own line: a scalar or an empty collection.
fn flat(value: &Value) -> Option<()> {
    match value {
        Value::Mapping(m) if !m.is_empty() => None,
        Value::Sequence(s) if !s.is_empty() => None,
        Value::String(s) if string(s).len() > 900 => None,
        _ => Some(()),
    }
}

/// What the lossless editor makes of `old` when asked to write `new`: the
/// old key order (keys gone from `new` dropped, new keys at the end), the
/// old value where it is unchanged. `None` for keys it would not write.
fn merged(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return Some(old.clone());
    }
    match (old, new) {
        (Value::Mapping(o), Value::Mapping(n)) if !o.is_empty() && !n.is_empty() => {
            let mut out = Mapping::with_capacity(n.len());
            for (k, ov) in o {
                k.as_str()?;
                if let Some(nv) = n.get(k) {
                    out.insert(k.clone(), merged(ov, nv)?);
                }
            }
            for (k, nv) in n {
                // The editor writes a key it adds in its own style (`''`,
                // `x y` unquoted): only keys the emitter writes plain are
                // written the same by both.
                if string(k.as_str()?) != k.as_str()? {
                    return None;
                }
                if !o.contains_key(k) {
                    out.insert(k.clone(), nv.clone());
                }
            }
            Some(Value::Mapping(out))
        }
        _ => Some(new.clone()),
    }
}

fn emit(key: &Value, value: &Value, indent: usize) -> String {
    let mut out = String::new();
    push_entry(key, value, indent, &mut out);
    out
}

/// Whether `text[span]` (up to its line's end) is what the emitter writes for
/// `key: value` at `indent`.
fn emitted_as(text: &str, span: Range<usize>, key: &Value, value: &Value, indent: usize) -> bool {
    let end = line_end(text, span.end - 1);
    let written = emit(key, value, indent);
    text.get(span.start..end) == Some(written.as_str())
}

/// Parses a written entry back: it must be `name:` holding exactly `intended`.
fn check(written: &str, name: &str, intended: &Value) -> Option<()> {
    let reread: Value = serde_yaml_ng::from_str(written).ok()?;
    let map = reread.as_mapping()?;
    (map.len() == 1 && map.get(name) == Some(intended)).then_some(())
}

/// Whether the entries found are the mapping's keys, in order.
fn same_keys(found: &[Entry<'_>], map: &Mapping) -> bool {
    found.len() == map.len()
        && found
            .iter()
            .zip(map.keys())
            .all(|(entry, key)| key.as_str() == Some(entry.key))
}

/// The byte after the newline ending the line that holds `at` (or the end).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// Lines of `text[range]` as (start, end without the newline).
fn lines(text: &str, range: Range<usize>) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = range.start;
    std::iter::from_fn(move || {
        if at >= range.end {
            return None;
        }
        let start = at;
        let end = text[start..range.end]
            .find('\n')
            .map_or(range.end, |i| start + i);
        at = end + 1;
        Some((start, end))
    })
}

/// Whether a line holds nothing for the parser: blank or a comment.
fn is_filler(line: &str) -> bool {
    let content = line.trim_start_matches(' ');
    content.is_empty() || content.starts_with('#')
}

/// The indent of the first content line in `range`.
fn first_indent(text: &str, range: Range<usize>) -> Option<usize> {
    lines(text, range)
        .map(|(s, e)| &text[s..e])
        .find(|line| !is_filler(line))
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .filter(|&indent| indent > 0)
}

/// The entries of a block mapping whose keys sit at `indent` within `range`.
/// `None` when a content line sits left of the keys or a key line is not a
/// plain or simply quoted `key:`.
fn entries(text: &str, range: Range<usize>, indent: usize) -> Option<Vec<Entry<'_>>> {
    let mut found: Vec<Entry<'_>> = Vec::new();
    for (start, end) in lines(text, range.clone()) {
        let line = &text[start..end];
        if is_filler(line) {
            continue;
        }
        let depth = line.len() - line.trim_start_matches(' ').len();
        if depth < indent {
            return None;
        }
        if depth == indent {
            found.push(Entry {
                key: key_of(&line[indent..])?,
                span: start..end + 1,
            });
        } else {
            found.last_mut()?.span.end = end + 1;
        }
    }
    for entry in &mut found {
        entry.span.end = entry.span.end.min(text.len());
    }
    Some(found)
}

/// The key of a `key:` line: plain, or quoted without escapes.
fn key_of(line: &str) -> Option<&str> {
    let (key, rest) = match line.as_bytes().first()? {
        b'"' | b'\'' => {
            let quote = line.as_bytes()[0] as char;
            let close = line[1..].find(quote)? + 1;
            let key = &line[1..close];
            if key.contains(['\\', '"', '\'']) {
                return None;
            }
            (key, &line[close + 1..])
        }
        b'-' | b'?' | b'{' | b'[' | b'%' | b'&' | b'*' | b'!' | b'|' | b'>' | b'.' | b'\t' => {
            return None;
        }
        _ => {
            let colon = line
                .find(": ")
                .or_else(|| line.strip_suffix(':').map(str::len))?;
            let key = &line[..colon];
            if key.contains(['#', '"', '\'', '\t']) || key.ends_with(' ') {
                return None;
            }
            (key, &line[colon..])
        }
    };
    rest.starts_with(':').then_some(key)
}

#[cfg(test)]
#[path = "splice_tests.rs"]
mod tests;
