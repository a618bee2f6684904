"""Checks for the rule tagger that stands in for spaCy's tagger, and for the injection of
spaCy's real en_core_web_sm model (tagger "spacy").

Run: target/phonemizer-env/bin/python -m unittest discover -s tools/phonemize
"""

import unittest

import spacy

from misaki_setup import build_g2p, build_nlp, offline_spacy, phonemize, rule_tag


class RuleTagTest(unittest.TestCase):
    def test_word_classes(self):
        expected = {
            "The": "DT", "AN": "DT", "a": "DT", "I": "PRP", "i": "", "To": "TO", "tO": "",
            "Between": "IN", "VIA": "IN", "near": "IN", "by": "", "Read": "", "": "",
        }
        for text, tag in expected.items():
            self.assertEqual(rule_tag(text, False), tag, text)

    def test_numbers(self):
        for text in ("7", "-15", "1,250,000", "3.14159", "-3.2", "0.5"):
            self.assertEqual(rule_tag(text, False), "CD", text)
        for text in ("3:30", ".5", "5.", "1st", "--5", "1,,0", "٣"):
            self.assertEqual(rule_tag(text, False), "", text)

    def test_punctuation(self):
        expected = {
            "$": "$", "£": "$", "€": "$", "¥": "$", "#": "#", ",": ",",
            ".": ".", "?!": ".", "!!!": ".", "...": ":", "…": ":", "--": ":", "—": ":",
            "–": ":", "-": ":", ";": ":", ":": ":", "(": "-LRB-", "[": "-LRB-",
            "}": "-RRB-", "“": "``", "‘": "``", "”": "''", "’": "''", "%": "", "&": "",
        }
        for text, tag in expected.items():
            self.assertEqual(rule_tag(text, False), tag, text)

    def test_straight_quotes_depend_on_position(self):
        self.assertEqual(rule_tag('"', True), "``")
        self.assertEqual(rule_tag("'", True), "``")
        self.assertEqual(rule_tag('"', False), "''")
        self.assertEqual(rule_tag("'", False), "''")

    def test_pipeline_tags_quotes_by_preceding_character(self):
        doc = build_nlp()('"Hi," he said ("really") \'ok\'.')
        quote_tags = [t.tag_ for t in doc if t.text in ('"', "'")]
        self.assertEqual(quote_tags, ["``", "''", "``", "''", "``", "''"])


class SpacyTaggerTest(unittest.TestCase):
    def test_misaki_gets_en_core_web_sm(self):
        saved = spacy.load
        g2p, _ = build_g2p("us", "spacy")
        self.assertIs(spacy.load, saved, "spacy.load must be restored")
        self.assertEqual((g2p.nlp.lang, g2p.nlp.meta["version"]), ("en", "3.8.0"))
        # misaki enables only tok2vec and the tagger.
        self.assertEqual(g2p.nlp.pipe_names, ["tok2vec", "tagger"])
        tags = [(t.text, t.tag_) for t in g2p.nlp("We want to record it.")]
        self.assertIn(("record", "VB"), tags)
        # A heteronym read by its tag, not the default: verb "record" is stressed on the second syllable.
        self.assertEqual(phonemize(g2p, "We want to record it."), "wˌi wˈɑnt tə ɹəkˈɔɹd ɪt.")

    def test_unknown_tagger(self):
        with self.assertRaises(ValueError):
            with offline_spacy("trf"):
                pass


if __name__ == "__main__":
    unittest.main()
