import os
import unittest

import wordfreq


class CountTest(unittest.TestCase):
    def test_installed(self):
        # the tests must exercise the installed package, not the source tree
        self.assertTrue(wordfreq.__file__.startswith(os.environ["out"]), wordfreq.__file__)

    def test_top(self):
        self.assertEqual(wordfreq.top("b a b c b a"), ["b", "a", "c"])
        print("wordfreq tests ran against", os.path.dirname(wordfreq.__file__))


if __name__ == "__main__":
    unittest.main()
