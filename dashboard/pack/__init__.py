"""The review pack: PNG charts, a self-contained index.html and summary.md, from one scorecard.

Four stages joined by values: `model` (the pack's values), `build` (computes them and writes the
pack), `html` (the two documents) and `images` (the PNGs, through kaleido).
"""
