"""What a project says: the models of its YAML files, the loaded `Project`, problems and their places,
the calendar, and the JSON Schema. Imports nothing else of `metrics`."""
