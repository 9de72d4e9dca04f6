"""Where rows come from: file and SQL sources behind one small protocol."""
