"""The review pack: PNG charts, a self-contained index.html and summary.md, from one scorecard."""
