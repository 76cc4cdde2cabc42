"""The selection: test results, the ranking of candidates, the decision and its notices."""
