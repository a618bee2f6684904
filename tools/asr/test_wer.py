"""Unit tests of the scoring: normalization, word-level Levenshtein, corpus WER, the sentence file.

Run: target/asrenv/bin/python -m unittest discover -s tools/asr -p 'test_*.py'
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asrlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class LevenshteinTest(unittest.TestCase):
    def counts(self, ref, hyp):
        c = asrlib.wer_counts(ref.split(), hyp.split())
        return c["errors"], c["sub"], c["dele"], c["ins"], c["words"]

    def test_identical(self):
        self.assertEqual(self.counts("a b c", "a b c"), (0, 0, 0, 0, 3))

    def test_substitution(self):
        self.assertEqual(self.counts("the cat sat", "the hat sat"), (1, 1, 0, 0, 3))

    def test_deletion(self):
        self.assertEqual(self.counts("the cat sat down", "the cat down"), (1, 0, 1, 0, 4))

    def test_insertion(self):
        self.assertEqual(self.counts("the cat sat", "the big cat sat"), (1, 0, 0, 1, 3))

    def test_mixed(self):
        # b->x (S), d deleted (D), g inserted (I): the only alignment of cost 3
        self.assertEqual(self.counts("a b c d e f", "a x c e f g"), (3, 1, 1, 1, 6))
        # cost ties (3 substitutions or S+D+I) are split toward substitutions
        self.assertEqual(self.counts("a b c d e", "a x c e f"), (3, 3, 0, 0, 5))

    def test_empty_hypothesis(self):
        self.assertEqual(self.counts("one two three", ""), (3, 0, 3, 0, 3))

    def test_empty_reference(self):
        self.assertEqual(self.counts("", "uh huh"), (2, 0, 0, 2, 0))

    def test_errors_can_exceed_words(self):
        e, *_ , w = self.counts("yes", "no no no")
        self.assertEqual((e, w), (3, 1))

    def test_against_plain_dp(self):
        import random

        rng = random.Random(5)
        for _ in range(300):
            ref = [rng.choice("abcd") for _ in range(rng.randint(0, 8))]
            hyp = [rng.choice("abcd") for _ in range(rng.randint(0, 8))]
            d = [[i + j if i * j == 0 else 0 for j in range(len(hyp) + 1)] for i in range(len(ref) + 1)]
            for i in range(1, len(ref) + 1):
                for j in range(1, len(hyp) + 1):
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
            c = asrlib.wer_counts(ref, hyp)
            self.assertEqual(c["errors"], d[-1][-1])
            self.assertEqual(c["sub"] + c["dele"] + c["ins"], c["errors"])
            # deletions - insertions is fixed by the lengths
            self.assertEqual(c["dele"] - c["ins"], len(ref) - len(hyp))

    def test_matches_jiwer(self):
        try:
            import jiwer
        except ImportError:
            self.skipTest("jiwer not installed")
        pairs = [("the cat sat on the mat", "the cat sat on a mat"),
                 ("a b c d e", "a x c e f"),
                 ("she paid 1250 dollars", "she paid $1250"),
                 ("one two three four", "four three two one")]
        for ref, hyp in pairs:
            c = asrlib.wer_counts(ref.split(), hyp.split())
            self.assertAlmostEqual(c["errors"] / c["words"], jiwer.wer(ref, hyp), msg=(ref, hyp))


class NormalizerTest(unittest.TestCase):
    def same(self, ref, hyp):
        self.assertEqual(asrlib.normalize(ref), asrlib.normalize(hyp), (ref, hyp))
        self.assertEqual(asrlib.wer(ref, hyp), 0.0)

    def test_case_and_punctuation(self):
        self.same("Hello, world! How are you?", "hello world how are you")

    def test_numbers_spelled_or_written(self):
        self.same("The library has more than 12,000 books.", "The library has more than twelve thousand books")
        self.same("Our team scored 104 points.", "Our team scored one hundred and four points.")

    def test_money(self):
        self.same("He paid $49.99 at the mall.", "He paid forty-nine dollars and ninety-nine cents at the mall.")
        self.same("The city spent $2.5 million.", "The city spent two point five million dollars.")

    def test_titles(self):
        self.same("Dr. Brown and Mr. Smith", "Doctor Brown and Mister Smith")

    def test_contractions_and_spelling(self):
        self.same("We've got the colour", "We have got the color")

    def test_ordinals(self):
        self.same("the 21st century", "the twenty-first century")

    def test_clock_times(self):
        # extra rewrite 1: "7:45", "7.45", "7, 45" and the spoken "seven forty-five" meet at "745"
        for hyp in ("The train leaves at seven forty-five every morning.", "The train leaves at 7.45 every morning.",
                    "The train leaves at 7, 45 every morning.", "the train leaves at 745 every morning"):
            self.same("The train leaves at 7:45 every morning.", hyp)
        self.same("at 9:05 p.m.", "at nine oh five PM")
        # not a time: a three-digit count, a year, money
        self.assertEqual(asrlib.normalize("8 of the 45 students"), "8 of the 45 students")
        self.assertEqual(asrlib.normalize("October 2, 2019"), "october 2 2019")
        self.assertEqual(asrlib.normalize("It costs $3.75."), "it costs $3.75")

    def test_month_day_ordinals(self):
        # extra rewrite 2: "July 4th" == "July 4" == "July fourth" after a month name only
        self.same("Her birthday is on July 4th.", "Her birthday is on July 4.")
        self.same("on March 14, 2025", "on March fourteenth, twenty twenty-five")
        self.assertEqual(asrlib.normalize("the 4th floor"), "the 4th floor")

    def test_initialisms(self):
        # the extra step: runs of single letters are joined
        self.same("closes at 9 p.m. today", "closes at 9 PM today")
        self.same("the F.B.I. report", "the FBI report")
        self.assertEqual(asrlib.normalize("I saw a cat"), "i saw a cat")  # lone letters stay

    def test_real_difference_is_counted(self):
        self.assertAlmostEqual(asrlib.wer("Michael gave Sarah a ride.", "Michael gave Sara a ride."), 1 / 5)
        self.assertAlmostEqual(asrlib.wer("She opened the window.", "See open the window."), 2 / 4)
        self.assertEqual(asrlib.wer("one two", ""), 1.0)

    def test_totals_are_corpus_level(self):
        t = asrlib.WerTotals()
        t.add(asrlib.wer_counts("a b".split(), "a c".split()))  # 1 of 2
        t.add(asrlib.wer_counts("a b c d e f g h".split(), "a b c d e f g h".split()))  # 0 of 8
        self.assertAlmostEqual(t.wer, 1 / 10)  # not the mean of 0.5 and 0
        self.assertEqual((t.sentences, t.sentences_wrong), (2, 1))


class SentencesTest(unittest.TestCase):
    def test_bundled_file(self):
        sents = asrlib.load_sentences(os.path.join(HERE, "sentences.tsv"))
        self.assertGreaterEqual(len(sents), 36)
        cats = {s.category for s in sents}
        self.assertEqual(cats, {"prose", "numbers", "money", "dates", "times", "abbreviations", "names"})
        for s in sents:
            self.assertTrue(6 <= len(s.text.split()) <= 16, s.text)
        self.assertEqual(len({s.text for s in sents}), len(sents), "duplicate sentences")

    def test_reference_column_and_limit(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            f.write("# comment\n\nnumbers\tOnly 8 of 45.\ndates\tOn May 2.\tOn May 2nd.\n")
        try:
            s = asrlib.load_sentences(f.name)
            self.assertEqual([(x.category, x.text, x.reference) for x in s],
                             [("numbers", "Only 8 of 45.", "Only 8 of 45."), ("dates", "On May 2.", "On May 2nd.")])
            self.assertEqual(len(asrlib.load_sentences(f.name, limit=1)), 1)
        finally:
            os.unlink(f.name)

    def test_malformed_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            f.write("just one column\n")
        try:
            with self.assertRaises(ValueError):
                asrlib.load_sentences(f.name)
        finally:
            os.unlink(f.name)


class VocabFilterTest(unittest.TestCase):
    def test_keep_in_vocab(self):
        self.assertEqual(asrlib.keep_in_vocab("həlˈO❓", set("həlˈO")), ("həlˈO", ["❓"]))
        self.assertEqual(asrlib.keep_in_vocab("abc", None), ("abc", []))


if __name__ == "__main__":
    unittest.main()
