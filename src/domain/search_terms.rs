//! What mail search matches: words, split at anything that is not a letter or digit, case
//! folded. A query word matches every indexed word it begins, so "precog" finds
//! "precognition"; words are grouped into buckets by their first letters so that one
//! bucket holds every word a query word can begin.

use std::collections::{BTreeMap, BTreeSet};

/// How many letters of a word name its bucket. A query word shorter than this matches
/// only that whole word (a word of one or two letters).
pub const BUCKET_LETTERS: usize = 3;
/// How many letters of a word name its shard, once its bucket is large enough to split.
pub const SHARD_LETTERS: usize = 5;
/// Longer words are indexed by their first this many letters; longer query words are cut
/// to the same length, so they still match.
const WORD_CHARS: usize = 40;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(WORD_CHARS).collect())
}

/// The distinct words of a message's search text.
pub fn index_terms(text: &str) -> BTreeSet<String> {
    words(text).collect()
}

/// The distinct words of a query, in the order typed.
pub fn query_words(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words(query) {
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// The letters that name a word's bucket: its first `BUCKET_LETTERS`, or all of a shorter word.
pub fn bucket_name(word: &str) -> &str {
    first_letters(word, BUCKET_LETTERS)
}

/// The letters that name an indexed word's shard within a split bucket: its first
/// `SHARD_LETTERS`, or all of a shorter word.
pub fn shard_name(word: &str) -> &str {
    first_letters(word, SHARD_LETTERS)
}

/// The shard a query word's matches are all in, when it is long enough to name one:
/// every word it begins shares its first `SHARD_LETTERS`. A shorter query word may match
/// words in any shard.
pub fn query_shard_name(query_word: &str) -> Option<&str> {
    (query_word.chars().count() >= SHARD_LETTERS).then(|| first_letters(query_word, SHARD_LETTERS))
}

fn first_letters(word: &str, letters: usize) -> &str {
    match word.char_indices().nth(letters) {
        Some((at, _)) => &word[..at],
        None => word,
    }
}

/// Whether a query word matches an indexed word. A query word too short to name a
/// bucket of its own matches only itself, since longer words are kept elsewhere.
pub fn matches(query_word: &str, indexed: &str) -> bool {
    if query_word.chars().count() < BUCKET_LETTERS {
        indexed == query_word
    } else {
        indexed.starts_with(query_word)
    }
}

/// Words to the entry ids that hold them: one bucket's share of a mailbox's index.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Postings(BTreeMap<String, Vec<i64>>);

impl Postings {
    pub fn add(&mut self, word: String, entry_id: i64) {
        self.0.entry(word).or_default().push(entry_id);
    }

    /// Takes in another share (a later batch, or another row of the same bucket).
    pub fn absorb(&mut self, other: Postings) {
        for (word, ids) in other.0 {
            self.0.entry(word).or_default().extend(ids);
        }
    }

    /// Every entry id a query word matches.
    pub fn matching(&self, query_word: &str) -> BTreeSet<i64> {
        self.0
            .range(query_word.to_string()..)
            .take_while(|(word, _)| word.starts_with(query_word))
            .filter(|(word, _)| matches(query_word, word))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Splits this share by a name for each word (its shard), keeping each word whole.
    pub fn split_by<K: Ord, E>(
        self,
        mut name: impl FnMut(&str) -> Result<K, E>,
    ) -> Result<BTreeMap<K, Postings>, E> {
        let mut out: BTreeMap<K, Postings> = BTreeMap::new();
        for (word, ids) in self.0 {
            let key = name(&word)?;
            out.entry(key).or_default().0.insert(word, ids);
        }
        Ok(out)
    }

    /// A compact form for sealing: each word with its ids sorted and stored as gaps.
    pub fn encode(&self) -> Vec<(String, Vec<i64>)> {
        self.0
            .iter()
            .map(|(word, ids)| {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let mut last = 0;
                let gaps = ids
                    .into_iter()
                    .map(|id| {
                        let gap = id - last;
                        last = id;
                        gap
                    })
                    .collect();
                (word.clone(), gaps)
            })
            .collect()
    }

    pub fn decode(encoded: Vec<(String, Vec<i64>)>) -> Self {
        let mut out = Self::default();
        for (word, gaps) in encoded {
            out.0.insert(word, from_gaps(gaps));
        }
        out
    }
}

fn from_gaps(gaps: Vec<i64>) -> Vec<i64> {
    let mut at = 0;
    gaps.into_iter()
        .map(|gap| {
            at += gap;
            at
        })
        .collect()
}

/// The entry ids a query word matches in one encoded share (the JSON of `encode`),
/// without building the share: only the matching words' ids are read, so a search of a
/// crowded bucket costs one pass over its bytes.
pub fn matching_in(encoded: &[u8], query_word: &str) -> Result<BTreeSet<i64>, serde_json::Error> {
    let words: Vec<(&str, &serde_json::value::RawValue)> = serde_json::from_slice(encoded)?;
    let mut found = BTreeSet::new();
    for (word, gaps) in words {
        if matches(query_word, word) {
            found.extend(from_gaps(serde_json::from_str(gaps.get())?));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_punctuation_and_fold_case() {
        let terms = index_terms("Re: HMA v Smith, PF/2026/0042 — précognition");
        for word in [
            "re",
            "hma",
            "v",
            "smith",
            "pf",
            "2026",
            "0042",
            "précognition",
        ] {
            assert!(terms.contains(word), "{word}");
        }
        assert_eq!(query_words("Bail bail  REVIEW"), vec!["bail", "review"]);
    }

    #[test]
    fn a_query_word_matches_the_words_it_begins() {
        let mut postings = Postings::default();
        for (word, id) in [("precognition", 1), ("precis", 2), ("pre", 3), ("v", 4)] {
            postings.add(word.into(), id);
        }
        postings.add("vs".into(), 5);
        assert_eq!(postings.matching("precog"), BTreeSet::from([1]));
        assert_eq!(postings.matching("pre"), BTreeSet::from([1, 2, 3]));
        assert_eq!(postings.matching("v"), BTreeSet::from([4]));
        assert!(postings.matching("prez").is_empty());
        assert_eq!(bucket_name("precognition"), "pre");
        assert_eq!(bucket_name("précis"), "pré");
        assert_eq!(bucket_name("v"), "v");
    }

    #[test]
    fn a_query_word_names_a_shard_only_when_its_matches_share_one() {
        assert_eq!(shard_name("precognition"), "preco");
        assert_eq!(shard_name("bail"), "bail");
        assert_eq!(query_shard_name("precog"), Some("preco"));
        assert_eq!(query_shard_name("preco"), Some("preco"));
        assert_eq!(query_shard_name("précis"), Some("préci"));
        assert_eq!(
            query_shard_name("préc"),
            None,
            "four letters begin words of many shards"
        );
        assert_eq!(query_shard_name("bail"), None);
    }

    #[test]
    fn a_split_share_keeps_every_word_with_its_ids() -> Result<(), std::convert::Infallible> {
        let mut postings = Postings::default();
        for (word, id) in [("precognition", 1), ("precis", 2), ("precognition", 3)] {
            postings.add(word.into(), id);
        }
        let split = postings
            .clone()
            .split_by(|word| Ok::<_, std::convert::Infallible>(shard_name(word).to_string()))?;
        assert_eq!(split.len(), 2);
        assert_eq!(split["preco"].matching("precog"), BTreeSet::from([1, 3]));
        assert_eq!(split["preci"].matching("precis"), BTreeSet::from([2]));
        let mut whole = Postings::default();
        for share in split.into_values() {
            whole.absorb(share);
        }
        assert_eq!(whole, postings);
        Ok(())
    }

    #[test]
    fn postings_survive_encoding_and_merge() -> Result<(), serde_json::Error> {
        let mut a = Postings::default();
        a.add("bail".into(), 40);
        a.add("bail".into(), 7);
        let mut b = Postings::decode(a.encode());
        assert_eq!(b.matching("bail"), BTreeSet::from([7, 40]));
        let mut later = Postings::default();
        later.add("bail".into(), 90);
        later.add("diet".into(), 91);
        b.absorb(later);
        assert_eq!(b.matching("bail"), BTreeSet::from([7, 40, 90]));
        assert_eq!(
            Postings::decode(b.encode()),
            b,
            "gaps decode to the same ids"
        );
        let encoded = serde_json::to_vec(&b.encode())?;
        assert_eq!(
            matching_in(&encoded, "bai")?,
            b.matching("bai"),
            "reading the encoded share finds what the share finds"
        );
        Ok(())
    }
}
