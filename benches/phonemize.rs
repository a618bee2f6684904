//! Phonemizer throughput on the accuracy corpus (tools/phonemize/corpus.tsv), in words per
//! second (criterion's "elem/s"): plain text, US and GB.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tritone::phonemize::{Language, Phonemizer};

fn corpus() -> (String, u64) {
    let tsv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/phonemize/corpus.tsv")).unwrap();
    let text: Vec<&str> = tsv.lines().filter_map(|l| l.split('\t').nth(1)).collect();
    let words = text.iter().map(|s| s.split_whitespace().count() as u64).sum();
    (text.join("\n"), words)
}

fn phonemize(c: &mut Criterion) {
    let (text, words) = corpus();
    let mut group = c.benchmark_group("phonemize");
    group.throughput(Throughput::Elements(words));
    for language in [Language::EnUs, Language::EnGb] {
        let p = Phonemizer::new(language).unwrap();
        group.bench_function(language.code(), |b| b.iter(|| p.phonemize(&text)));
    }
    group.bench_function("load en-us", |b| b.iter(|| Phonemizer::new(Language::EnUs).unwrap()));
    group.finish();
}

criterion_group!(benches, phonemize);
criterion_main!(benches);
