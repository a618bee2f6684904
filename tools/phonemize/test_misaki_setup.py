"""Checks for the rule tagger that stands in for spaCy's tagger.

Run: target/phonemizer-env/bin/python -m unittest discover -s tools/phonemize
"""

import unittest

from misaki_setup import build_nlp, rule_tag


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


if __name__ == "__main__":
    unittest.main()
