use super::*;

fn us() -> Phonemizer {
    Phonemizer::new(Language::EnUs).unwrap()
}

fn gb() -> Phonemizer {
    Phonemizer::new(Language::EnGb).unwrap()
}

// Expected strings: misaki 0.9.4 as Kokoro runs it (tools/phonemize/words.py).
#[test]
fn sentences_in_misakis_conventions() {
    let cases = [
        ("Hello, world!", "həlˈO, wˈɜɹld!"),
        ("[Kokoro](/kˈOkəɹO/) is a TTS model.", "kˈOkəɹO ɪz ɐ tˌitˌiˈɛs mˈɑdᵊl."),
        ("I [read](-1) it.", "ˌI ɹˌid ɪt."),
        ("It costs $5.25 today.", "ˌɪt kˈɔsts fˈIv dˈɑləɹz ænd twˈɛnti fˈIv sˈɛnts tədˈA."),
        ("She was born in 1984.", "ʃˌi wʌz bˈɔɹn ɪn nˌIntˈin ˈATi fˈɔɹ."),
        ("The 3rd of May.", "ðə θˈɜɹd ʌv mˈA."),
        ("Take route 911 now.", "tˈAk ɹˈut nˈIn hˈʌndɹəd əlˈɛvᵊn nˈW."),
        ("Use the [1](#a#) way.", "jˈuz ðə wˈʌn wˈA."),
        ("Don't stop-believing, Sam!", "dˈOnt stˌɑpbᵻlˈivɪŋ, sˈæm!"),
        ("He said \"hi\" (twice).", "hˌi sˈɛd “hˈI” (twˈIs)."),
        ("I'm 25% sure it's 3.14.", "ˌIm twˈɛnti fˈIv pəɹsˈɛnt ʃˈʊɹ ɪts θɹˈi pYnt wˈʌn fˈɔɹ."),
        ("The tomato is red.", "ðə təmˈATO ɪz ɹˈɛd."),
    ];
    let p = us();
    for (text, expected) in cases {
        assert_eq!(p.phonemize(text).phonemes(), expected, "{text}");
    }
    let cases = [
        ("Hello, world!", "həlˈQ, wˈɜːld!"),
        ("I'm 25% sure it's 3.14.", "ˌIm twˈɛnti fˈIv pəsˈɛnt ʃˈʊə ɪts θɹˈiː pYnt wˈʌn fˈɔː."),
        ("The colour of the car was grey.", "ðə kˈʌlə ɒv ðə kˈɑː wɒz ɡɹˈA."),
    ];
    let p = gb();
    for (text, expected) in cases {
        assert_eq!(p.phonemize(text).phonemes(), expected, "{text}");
    }
}

#[test]
fn words_report_their_source() {
    let result = us().phonemize("Dr. Smith paid $5 for [tomatoes](/təˈmɑːtoʊz/) at 3:30 pm, zorblax!");
    let source = |w: &str| result.segments[0].words.iter().find(|x| x.text == w).map(|x| x.source);
    assert_eq!(source("Smith"), Some(Source::Lexicon));
    assert_eq!(source("tomatoes"), Some(Source::Link));
    assert_eq!(source("zorblax"), Some(Source::Rule));
    assert_eq!(source(","), Some(Source::Punctuation));
    assert!(result.segments[0].words.iter().any(|w| w.source == Source::Normalizer), "{result:?}");
    // an IPA link is converted to misaki's symbols
    let tomatoes = result.segments[0].words.iter().find(|x| x.text == "tomatoes").unwrap();
    assert_eq!(tomatoes.phonemes, "təmˈɑtOz");
    let json = serde_json::to_string(&result).unwrap();
    assert!(json.contains(r#""source":"link""#) && json.contains(r#""source":"rule""#), "{json}");
}

#[test]
fn ssml_reaches_the_synthesizer_as_segments() {
    let doc = r#"<speak>Hello<break time="500ms"/><prosody rate="slow">world</prosody>
        <phoneme alphabet="ipa" ph="təˈmɑːtoʊ">tomato</phoneme> <say-as interpret-as="characters">abc</say-as>
        <sub alias="World Wide Web">WWW</sub><p>The end</p></speak>"#;
    let result = us().phonemize_ssml(doc).unwrap();
    let view: Vec<(&str, f32, u32)> = result.segments.iter().map(|s| (s.phonemes.as_str(), s.rate, s.pause_ms)).collect();
    assert_eq!(
        view,
        [
            ("həlˈO", 1.0, 500),
            ("wˈɜɹld", 0.75, 0),
            // IPA t stays t (no flap); "the" before a vowel is ði
            ("təmˈɑtO ˌAbˌisˈi wˈɜɹld wˈId wˈɛb", 1.0, 0),
            ("ði ˈɛnd", 1.0, PARAGRAPH_PAUSE_MS),
        ]
    );
    let sources: Vec<Source> = result.segments[2].words.iter().map(|w| w.source).collect();
    assert!(sources.iter().all(|&s| s == Source::Ssml), "{sources:?}");
}

#[test]
fn ssml_and_alphabet_errors_have_positions() {
    let err = us().phonemize_ssml("<speak>Hi <break time=5s/></speak>").unwrap_err();
    assert!(matches!(err, Error::Ssml { offset: 22, .. }), "{err}");
    let err = us().phonemize_ssml(r#"<speak><phoneme alphabet="arpabet" ph="HH AH0 QQ1">x</phoneme></speak>"#).unwrap_err();
    assert!(matches!(err, Error::Ssml { .. }) && err.to_string().contains("QQ"), "{err}");
}

#[test]
fn user_lexicon_wins_over_the_built_in_one() {
    let json = r#"{"tomato": "təˈmɑːtoʊ", "Kokoro": "K OW1 K ER0 OW0", "gif": {"x-sampa": "\"dZIf"}, "data": {"misaki": "dˈAtə"}}"#;
    let user = UserLexicon::from_json(json, Language::EnUs).unwrap();
    assert_eq!(user.len(), 4);
    let p = us().with_user_lexicon(user);
    let result = p.phonemize("Kokoro likes tomato gif data.");
    assert_eq!(result.phonemes(), "kˈOkəɹO lˈIks təmˈɑtO ʤˈɪf dˈAtə.");
    assert!(result.segments[0].words.iter().filter(|w| w.source == Source::User).count() == 4);
    for (bad, needle) in [
        ("[1, 2]", "object"),
        ("{", "JSON"),
        (r#"{"x": 5}"#, "\"x\""),
        (r#"{"x": {"klingon": "a"}}"#, "klingon"),
        (r#"{"x": "HH QQ1"}"#, "QQ"),
    ] {
        let err = UserLexicon::from_json(bad, Language::EnUs).unwrap_err();
        assert!(matches!(err, Error::Lexicon(_)) && err.to_string().contains(needle), "{bad}: {err}");
    }
}

#[test]
fn languages_by_code_and_voice() {
    assert_eq!(Language::from_code("en-GB").unwrap(), Language::EnGb);
    assert_eq!(Language::from_code("a").unwrap(), Language::EnUs);
    assert!(Language::from_code("fr").unwrap_err().to_string().contains("en-us or en-gb"));
    assert_eq!(Language::for_voice("bf_emma"), Language::EnGb);
    assert_eq!(Language::for_voice("af_bella(2)+bf_emma(1)"), Language::EnUs);
    // Voices of other languages speak English text as en-US, with a note saying so.
    assert_eq!(Language::for_voice("jf_alpha"), Language::EnUs);
    assert!(Language::voice_note("jf_alpha").unwrap().contains("Japanese voice"));
    assert!(Language::voice_note("zm_yunjian").unwrap().contains("Mandarin"));
    assert_eq!(Language::voice_note("af_heart"), None);
    assert_eq!(Language::voice_note("bm_george"), None);
}

#[test]
fn any_unicode_never_panics() {
    let p = us();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let alphabet: Vec<char> = "aZ09 .,;:!?'\"-–—…$£€¥%&@+#/()[]{}<>\n\t\u{301}\u{200d}\u{202e}🙂👩‍👩‍👧שלוםمرحبا漢字ÅßĲﬁ²½Ⅻ٣"
        .chars()
        .collect();
    for _ in 0..3000 {
        let len = rng.below(64);
        let text: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let _ = p.phonemize(&text);
        let _ = p.phonemize_ssml(&format!("<speak>{text}</speak>"));
    }
}

#[test]
fn a_megabyte_of_text_is_phonemized_whole() {
    let sentence = "On 3/4/2025 the 2nd team paid $1,234.50 to Dr. Who — really?! ";
    let text = sentence.repeat((1 << 20) / sentence.len() + 1);
    let result = us().phonemize(&text);
    let words: usize = result.segments.iter().map(|s| s.words.len()).sum();
    assert!(words > 100_000, "{words} words");
}

#[test]
fn heteronyms_follow_their_context() {
    // Readings from misaki's lexicon entries (us_gold.json): record {DEFAULT ɹˈɛkəɹd, VERB
    // ɹəkˈɔɹd}, read {DEFAULT ɹˈid, VBD/VBN ɹˈɛd}, live {DEFAULT lˈIv, VERB lˈɪv}, use
    // {DEFAULT jˈuz, NOUN jˈus}, close {DEFAULT klˈOs, VERB klˈOz}.
    let p = us();
    let word = |text: &str, w: &str| {
        let result = p.phonemize(text);
        result.segments[0].words.iter().find(|x| x.text == w).map(|x| x.phonemes.clone()).unwrap()
    };
    assert_eq!(word("We want to record the record.", "record"), "ɹəkˈɔɹd");
    assert_eq!(word("Play the record.", "record"), "ɹˈɛkəɹd");
    assert_eq!(word("I have read it.", "read"), "ɹˈɛd");
    assert_eq!(word("She read it.", "read"), "ɹˈɛd");
    assert_eq!(word("I read it yesterday.", "read"), "ɹˈɛd");
    assert_eq!(word("I will read it.", "read"), "ɹˈid");
    assert_eq!(word("Where do they live?", "live"), "lˈɪv");
    assert_eq!(word("The live show.", "live"), "lˈIv");
    assert_eq!(word("It is of no use.", "use"), "jˈus");
    assert_eq!(word("Close the door.", "Close"), "klˈOz");
    assert_eq!(word("We are close to it.", "close"), "klˈOs");
    assert_eq!(word("It was read aloud.", "read"), "ɹˈɛd");
}

#[test]
fn contractions_missing_from_the_lexicon_are_composed() {
    // the word's own lexicon entry ("should" ʃˌʊd, "ought" ˈɔt) plus the clitic, as the lexicon
    // writes the ones it has (might've mˈIɾəv, could've kʊdəv)
    let p = us();
    assert_eq!(p.phonemize("should've").phonemes(), "ʃˌʊdəv");
    // no flap after ɔ (misaki's US_TAUS leaves it out)
    assert_eq!(p.phonemize("ought've").phonemes(), "ˈɔtəv");
    assert_eq!(gb().phonemize("should've").phonemes(), "ʃˌʊdəv");
}

#[test]
fn ssml_elements_read_like_the_same_text() {
    let p = us();
    let ssml = |body: &str| p.phonemize_ssml(&format!("<speak>{body}</speak>")).unwrap().phonemes();
    // numbers through misaki's own number reading: no "and", no commas
    assert_eq!(ssml(r#"<say-as interpret-as="cardinal">1,101</say-as>"#), p.phonemize("1,101").phonemes());
    assert_eq!(ssml(r#"<say-as interpret-as="ordinal">21</say-as>"#), p.phonemize("21st").phonemes());
    assert_eq!(ssml(r#"<say-as interpret-as="ordinal">112</say-as>"#), p.phonemize("112th").phonemes());
    assert_eq!(ssml(r#"<say-as interpret-as="digits">907</say-as>"#), p.phonemize("9 0 7").phonemes());
    // accented letters are spelled by their base letter
    assert_eq!(ssml(r#"<say-as interpret-as="characters">Zoë</say-as>"#), p.phonemize("ZOE").phonemes());
    // punctuation after an element stays attached; text after it stays a word of its own
    assert_eq!(ssml(r#"<phoneme ph="həˈloʊ">hi</phoneme>, now"#), "həlˈO, nˈW");
    assert_eq!(ssml(r#"<sub alias="World Wide Web">WWW</sub>now"#), "wˈɜɹld wˈId wˈɛb nˈW");
    // empty content still says its phonemes
    assert_eq!(ssml(r#"<phoneme ph="həˈloʊ"></phoneme>"#), "həlˈO");
}

#[test]
fn the_normalizer_reads_what_misaki_would_misread() {
    // misaki: "nine hundred eleven", "ten twenty-four points"
    let p = us();
    assert_eq!(p.phonemize("Call 911 now.").phonemes(), "kˈɔl nˈIn wˈʌn wˈʌn nˈW.");
    assert_eq!(p.phonemize("1024 points").phonemes(), p.phonemize("one thousand twenty-four points").phonemes());
}

#[test]
fn glued_numbers_and_long_groups() {
    let p = us();
    // "3--1": "-1" is glued to a dash and is no number to misaki; each number is read
    // (misaki's eSpeak fallback: θɹˈi wˈʌn)
    assert_eq!(p.phonemize("3--1").phonemes(), "θɹˈi wˈʌn");
    let long = "x-".repeat(3000);
    assert!(!p.phonemize(&long).phonemes().is_empty());
}
