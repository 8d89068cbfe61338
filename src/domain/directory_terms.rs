//! What the directory matches: each word of a person's name, of their address (split at
//! anything that is not a letter or digit) and of their organisation's name, and the whole
//! address, case folded. A query matches a person when each of its words begins one of
//! their terms ("bro" finds "Brodie & Wylie"; "ann brodie" needs both).

use std::collections::BTreeSet;

/// Longer words are kept to this many characters (a query word is cut the same way).
const TERM_CHARS: usize = 64;

/// At most this many query words are used (the longest ones).
pub const QUERY_WORDS: usize = 4;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(TERM_CHARS).collect())
}

/// The terms a directory entry is found by.
pub fn directory_terms(name: &str, email: &str, organisation: &str) -> BTreeSet<String> {
    let mut terms: BTreeSet<String> = words(name)
        .chain(words(email))
        .chain(words(organisation))
        .collect();
    terms.insert(email.to_lowercase().chars().take(TERM_CHARS).collect());
    terms
}

/// The words of a directory query, longest (most telling) first; a query that is one
/// whole address is that address.
pub fn directory_query(query: &str) -> Vec<String> {
    let query = query.trim();
    if query.contains('@') && !query.contains(char::is_whitespace) {
        return vec![query.to_lowercase().chars().take(TERM_CHARS).collect()];
    }
    let mut out: Vec<String> = Vec::new();
    for word in words(query) {
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    out.truncate(QUERY_WORDS);
    out
}

/// The first string after every string that begins with `prefix` (in byte order): a
/// prefix search is the range `prefix <= term < prefix_end(prefix)`.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_string();
    end.push(char::MAX);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_addresses_and_organisations_give_terms() {
        let terms = directory_terms("Ann Brodie", "ann.b@brodie-wylie.example", "Brodie & Wylie");
        for term in [
            "ann",
            "brodie",
            "b",
            "wylie",
            "example",
            "ann.b@brodie-wylie.example",
        ] {
            assert!(terms.contains(term), "{term}");
        }
    }

    #[test]
    fn queries_are_words_longest_first_or_one_address() {
        assert_eq!(directory_query("ann  Brodie"), vec!["brodie", "ann"]);
        assert_eq!(
            directory_query("Fiona@PF.example"),
            vec!["fiona@pf.example"]
        );
        assert_eq!(directory_query("  "), Vec::<String>::new());
        assert_eq!(directory_query("a b c d e f").len(), QUERY_WORDS);
    }

    #[test]
    fn a_prefix_range_holds_every_word_it_begins() {
        let end = prefix_end("bro");
        for word in ["bro", "brodie", "broö"] {
            assert!(word >= "bro" && word < end.as_str(), "{word}");
        }
        assert!("brp" >= end.as_str());
    }
}
